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
import { oauthPaths } from "../oauth/paths.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import {
  AdminServiceAccountsPage,
  ServiceAccountSecretPage,
  type ServiceAccountForm,
  type ServiceAccountView,
} from "../../views/admin-service-accounts.tsx";
import { MessagePage } from "../../views/message.tsx";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards, SignedInContext } from "../http/page-guards.ts";
import { field, fieldValues } from "./context.ts";
import { accessFromForm } from "./access-form.ts";
import { applyListQuery, readListQuery, type ListSpec } from "./list-query.ts";

// Settings → Service accounts: admins create one (its client secret shown
// once), give it a new secret, disable, enable or delete it. Each change is
// in the audit log; the account's own calls are there under its name.

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
  const listPage = (
    g: SignedInContext,
    extra: { error?: string; form?: ServiceAccountForm } = {},
    search = new URLSearchParams(),
  ) => {
    const offered = offer();
    const list = readListQuery(search, accountList);
    return AdminServiceAccountsPage({
      viewer: g.viewer,
      csrf: g.csrf,
      accounts: applyListQuery(listServiceAccounts(web.db).map(viewOf), list, accountList),
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
  const toggle = (
    event: "user_disabled" | "user_enabled",
    byId: string,
    audit: AuditLog,
    set: Context["set"],
    id: string,
  ) => {
    if (!findServiceAccount(web.db, id)) {
      set.status = 404;
      return noSuchAccount();
    }
    const user = event === "user_disabled" ? disableAccount(web.db, id, web.now()) : enableAccount(web.db, id);
    audit.record({ event, outcome: "ok", userId: user.id, detail: { by: byId, service_account: user.name } });
    return Response.redirect(path, 303);
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
      ({ body, current, viewer, csrf, audit, set }) => {
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
          const { account, clientSecret } = createServiceAccount(web.db, {
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
          return ServiceAccountSecretPage({
            viewer,
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
    .post(
      `${path}/:id/secret`,
      ({ current, viewer, csrf, audit, set, params }) => {
        const renewed = newServiceAccountSecret(web.db, params.id);
        if (!renewed) {
          set.status = 404;
          return noSuchAccount();
        }
        const name = renewed.account.user.name!;
        audit.record({
          event: "service_account_secret_renewed",
          outcome: "ok",
          userId: renewed.account.user.id,
          clientId: renewed.account.client.id,
          detail: { by: current.user.id, service_account: name },
        });
        return ServiceAccountSecretPage({
          viewer,
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
    .post(
      `${path}/:id/disable`,
      ({ current, audit, set, params }) => toggle("user_disabled", current.user.id, audit, set, params.id),
      post(),
    )
    .post(
      `${path}/:id/enable`,
      ({ current, audit, set, params }) => toggle("user_enabled", current.user.id, audit, set, params.id),
      post(),
    )
    .post(
      `${path}/:id/delete`,
      ({ current, audit, set, params, redirect }) => {
        const deleted = deleteServiceAccount(web.db, params.id);
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
        return redirect(path, 303);
      },
      post(),
    );
}
