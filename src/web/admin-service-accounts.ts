import { Elysia, type Context } from "elysia";
import {
  createServiceAccount,
  deleteServiceAccount,
  lastUseOf,
  newServiceAccountSecret,
} from "../accounts/service-accounts.ts";
import { findServiceAccount, listServiceAccounts, type ServiceAccountRow } from "../accounts/service-accounts-store.ts";
import { AccountError, disableAccount, enableAccount } from "../accounts/users.ts";
import type { AuditLog } from "../audit/entry.ts";
import { accessLevelOf } from "../keys/api-keys.ts";
import { accessOffer, toolGroups } from "../mcp/access.ts";
import { writeToolChoices } from "../mcp/tool-permissions.ts";
import { secretVersionOf } from "../oauth/client-secrets.ts";
import { oauthPaths } from "../oauth/paths.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import {
  AdminServiceAccountsPage,
  ServiceAccountSecretPage,
  type ServiceAccountForm,
  type ServiceAccountView,
} from "../../views/admin-service-accounts.tsx";
import { ConfirmPage, type ConfirmProps } from "../../views/confirm.tsx";
import { MessagePage } from "../../views/message.tsx";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards, SignedInContext } from "../http/page-guards.ts";
import type { CookieJar } from "./cookies.ts";
import { field, fieldValues } from "./context.ts";
import { accessFromForm } from "./access-form.ts";
import { setFlash } from "./flash.ts";
import { applyListQuery, readListQuery, type ListSpec } from "./list-query.ts";

// Settings → Service accounts: admins create one (its client secret shown
// once), give it a new secret, disable, enable or delete it. Each change is
// in the audit log; the account's own calls are there under its name. New
// secret, Disable and Delete ask first on a page of their own
// (views/confirm.tsx); Disable, Enable and Delete then redirect to the list,
// which says what happened once (src/web/flash.ts).

const path = "/admin/service-accounts";

const viewOf = (a: ServiceAccountRow): ServiceAccountView => ({
  id: a.user.id,
  name: a.user.name ?? a.user.email,
  clientId: a.client.id,
  access: accessLevelOf(a.authorization.scope),
  tools: a.authorization.tools,
  createdAt: a.user.createdAt,
  lastUsedAt: lastUseOf(a),
  disabledAt: a.user.disabledAt,
});

const accountList: ListSpec<ServiceAccountView> = {
  columns: {
    name: { value: (a) => a.name, first: "asc" },
    created: { value: (a) => a.createdAt, first: "desc" },
    last_used: { value: (a) => a.lastUsedAt, first: "desc" },
    status: { value: (a) => (a.disabledAt === null ? "Active" : "Disabled"), first: "asc" },
  },
  fallback: { sort: "name", dir: "asc" },
  text: (a) => [a.name, a.clientId],
};

const noSuchAccount = () =>
  MessagePage({
    title: "No such service account",
    message: "That service account does not exist (any more).",
    link: { href: path, label: "Back to service accounts" },
  });

export function adminServiceAccountsRoutes(web: WebDeps, pages: PageGuards) {
  const tokenUrl = `${web.config.publicUrl}${oauthPaths.token}`;
  // Only admins signed in as such get here, so there is no ceiling; the tools are read per page, as upstreams come and go.
  const offer = () => accessOffer(null, writeToolChoices(web.catalogue.tools));
  const listPage = async (
    g: SignedInContext,
    extra: { error?: string; form?: ServiceAccountForm } = {},
    search = new URLSearchParams(),
  ) => {
    const offered = offer();
    const list = readListQuery(search, accountList);
    return AdminServiceAccountsPage({
      viewer: g.viewer,
      csrf: g.csrf,
      accounts: applyListQuery((await listServiceAccounts(web.db)).map(viewOf), list, accountList),
      list: { ...list, path },
      now: web.now(),
      offer: offered,
      groups: toolGroups(offered.tools),
      ...extra,
    });
  };
  // Every form post here: the form token first, then an admin's session. A new object per route: Elysia consumes the options it is given.
  const post = () => ({ form: path, admin: "service accounts" }) as const;

  /** Disable or enable: the same account checks as for people, on a service account only. */
  const toggle = async (
    event: "user_disabled" | "user_enabled",
    byId: string,
    { audit, set, cookie }: { audit: AuditLog; set: Context["set"]; cookie: CookieJar },
    id: string,
  ) => {
    if (!(await findServiceAccount(web.db, id))) {
      set.status = 404;
      return noSuchAccount();
    }
    const user = await (event === "user_disabled" ? disableAccount(web.db, id, web.now()) : enableAccount(web.db, id));
    audit.record({ event, outcome: "ok", userId: user.id, detail: { by: byId, service_account: user.name } });
    setFlash(
      cookie,
      web.secure,
      event === "user_disabled"
        ? `Disabled “${user.name}”: it gets no new tokens, and the ones it has stopped working.`
        : `Enabled “${user.name}”: it gets tokens with its secret again.`,
    );
    return Response.redirect(path, 303);
  };

  /** The confirmation page for an action on a service account, or 404 for an unknown id. */
  const confirmAccount = async (
    g: SignedInContext,
    set: Context["set"],
    id: string,
    ask: (name: string, account: ServiceAccountRow) => Omit<ConfirmProps, "viewer" | "csrf" | "cancel" | "action">,
    action: string,
  ) => {
    const account = await findServiceAccount(web.db, id);
    if (!account) {
      set.status = 404;
      return noSuchAccount();
    }
    return ConfirmPage({
      viewer: g.viewer,
      csrf: g.csrf,
      ...ask(viewOf(account).name, account),
      action: `${path}/${account.user.id}/${action}`,
      cancel: path,
    });
  };

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      // The secret appears on these pages.
      set.headers["cache-control"] = "no-store";
    })
    .get(
      path,
      ({ current, viewer, csrf, request }) =>
        listPage({ current, viewer, csrf }, {}, new URL(request.url).searchParams),
      { admin: "service accounts" },
    )
    .post(
      path,
      async ({ body, current, viewer, csrf, audit, set }) => {
        const by = current.user.id;
        const form: ServiceAccountForm = {
          name: field(body, "name"),
          choice: field(body, "access"),
          ticked: fieldValues(body, "tool"),
        };
        const fail = (error: string) => {
          set.status = 400;
          return listPage({ current, viewer, csrf }, { error, form });
        };
        const read = accessFromForm(body, offer());
        if (!read.ok) return fail(read.error);
        const { level, tools } = read.access;
        try {
          const { account, clientSecret } = await createServiceAccount(web.db, {
            name: form.name,
            access: level,
            tools,
            resource: mcpResourceUrl(web.config.publicUrl),
            now: web.now(),
          });
          const name = account.user.name!;
          web.log.info("service account created", { user_id: by, service_account_id: account.user.id });
          audit.record({
            event: "service_account_created",
            outcome: "ok",
            userId: account.user.id,
            clientId: account.client.id,
            detail: { by, service_account: name, access: level, tools: tools ?? "all" },
          });
          // The answer to this POST, not a redirect: see the new secret's route below.
          return ServiceAccountSecretPage({
            viewer: { ...viewer, flash: `Created service account “${name}”.` },
            csrf,
            name,
            clientId: account.client.id,
            secret: clientSecret,
            tokenUrl,
            rotated: false,
          });
        } catch (error) {
          if (error instanceof AccountError) return fail(error.message);
          throw error;
        }
      },
      post(),
    )
    .get(
      `${path}/:id/secret`,
      ({ current, viewer, csrf, set, params }) =>
        confirmAccount(
          { current, viewer, csrf },
          set,
          params.id,
          (name, account) => ({
            question: `New secret for “${name}”?`,
            consequences: [
              "The current secret stops working at once: CI using it gets 401 (invalid_client) when it asks for a token.",
              "Access tokens it already holds keep working until they expire; Disable stops those too.",
              "The new secret is shown once, on the next page.",
            ],
            confirmLabel: "Make a new secret",
            danger: true,
            // Names the secret this replaces: the same form sent again replaces nothing.
            fields: { secret_version: secretVersionOf(account.client.secretHash ?? "") },
          }),
          "secret",
        ),
      { admin: "service accounts" },
    )
    .post(
      `${path}/:id/secret`,
      async ({ body, current, viewer, csrf, audit, set, params }) => {
        const renewed = await newServiceAccountSecret(web.db, params.id, field(body, "secret_version"));
        if (!renewed) {
          set.status = 404;
          return noSuchAccount();
        }
        if (renewed === "changed") {
          set.status = 409;
          return MessagePage({
            title: "No new secret made",
            message:
              "This service account's secret changed after that page was drawn (was the form sent twice?), so the secret shown then is still the one that works.",
            link: { href: path, label: "Back to service accounts" },
          });
        }
        const name = renewed.account.user.name!;
        audit.record({
          event: "service_account_secret_renewed",
          outcome: "ok",
          userId: renewed.account.user.id,
          clientId: renewed.account.client.id,
          detail: { by: current.user.id, service_account: name },
        });
        // The answer to this POST, not a redirect: the secret exists only here (only its hash
        // is stored), so a page after a redirect would need it stored to show it.
        return ServiceAccountSecretPage({
          viewer: { ...viewer, flash: `Made a new secret for “${name}”: the old one has stopped working.` },
          csrf,
          name,
          clientId: renewed.account.client.id,
          secret: renewed.clientSecret,
          tokenUrl,
          rotated: true,
        });
      },
      post(),
    )
    .get(
      `${path}/:id/disable`,
      ({ current, viewer, csrf, set, params }) =>
        confirmAccount(
          { current, viewer, csrf },
          set,
          params.id,
          (name) => ({
            question: `Disable “${name}”?`,
            consequences: [
              "It gets no new tokens (the token endpoint answers unauthorized_client), and the tokens it holds get 401 at /mcp on their next request.",
              "Nothing is deleted: Enable brings it back with the same secret.",
            ],
            confirmLabel: "Disable service account",
            // Enable undoes it: a plain button.
            danger: false,
          }),
          "disable",
        ),
      { admin: "service accounts" },
    )
    .post(
      `${path}/:id/disable`,
      ({ cookie, current, audit, set, params }) =>
        toggle("user_disabled", current.user.id, { audit, set, cookie }, params.id),
      post(),
    )
    .post(
      `${path}/:id/enable`,
      ({ cookie, current, audit, set, params }) =>
        toggle("user_enabled", current.user.id, { audit, set, cookie }, params.id),
      post(),
    )
    .get(
      `${path}/:id/delete`,
      ({ current, viewer, csrf, set, params }) =>
        confirmAccount(
          { current, viewer, csrf },
          set,
          params.id,
          (name) => ({
            question: `Delete “${name}”?`,
            consequences: [
              "Its client secret and tokens stop working at once: the token endpoint and /mcp answer 401.",
              "This cannot be undone: to give the job access again, create a new service account, with a new client ID and secret.",
              // The audit log has no foreign keys (src/db/schema.ts auditEvents); the page names entries by joining users.
              "Its audit entries are kept for the audit retention period (GATEHOUSE_AUDIT_RETENTION), listed under its user id instead of its name.",
            ],
            confirmLabel: "Delete service account",
            danger: true,
          }),
          "delete",
        ),
      { admin: "service accounts" },
    )
    .post(
      `${path}/:id/delete`,
      async ({ cookie, current, audit, set, params, redirect }) => {
        const deleted = await deleteServiceAccount(web.db, params.id);
        if (!deleted) {
          set.status = 404;
          return noSuchAccount();
        }
        audit.record({
          event: "service_account_deleted",
          outcome: "ok",
          userId: deleted.user.id,
          clientId: deleted.client.id,
          detail: { by: current.user.id, service_account: deleted.user.name },
        });
        setFlash(cookie, web.secure, `Deleted “${deleted.user.name}”: its secret and tokens no longer work.`);
        return redirect(path, 303);
      },
      post(),
    );
}
