import { Elysia } from "elysia";
import { createServiceAccount, deleteServiceAccount, lastUseOf, newServiceAccountSecret } from "../accounts/service-accounts.ts";
import { findServiceAccount, listServiceAccounts, type ServiceAccountRow } from "../accounts/service-accounts-store.ts";
import { AccountError, disableAccount, enableAccount } from "../accounts/users.ts";
import type { AuditEntry } from "../audit/entry.ts";
import { accessLevelOf } from "../keys/api-keys.ts";
import { accessOffer, toolGroups } from "../mcp/access.ts";
import { writeToolChoices } from "../mcp/tool-grants.ts";
import { oauthPaths } from "../oauth/endpoints.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import { AdminServiceAccountsPage, ServiceAccountSecretPage, type ServiceAccountForm, type ServiceAccountView } from "../../views/admin-service-accounts.tsx";
import { MessagePage } from "../../views/message.tsx";
import { adminForPage, adminForPost, type FormPostCtx, type SignedInViewer } from "./admin-guard.ts";
import { auditContext, field, fieldValues } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import { accessFromForm } from "./access-form.ts";

// Settings → Service accounts: admins create one (its client secret shown
// once), give it a new secret, disable, enable or delete it. Each change is
// in the audit log; the account's own calls are there under its name.

const path = "/admin/service-accounts";

type Ctx = FormPostCtx;

const viewOf = (a: ServiceAccountRow): ServiceAccountView => ({
  id: a.user.id,
  name: a.user.name ?? a.user.email,
  clientId: a.client.id,
  access: accessLevelOf(a.grant.scope),
  tools: a.grant.tools,
  createdAt: a.user.createdAt,
  lastUsedAt: lastUseOf(a),
  disabledAt: a.user.disabledAt,
});

const noSuchAccount = () => MessagePage({ title: "No such service account", message: "That service account does not exist (any more).", link: { href: path, label: "Back to service accounts" } });

export function adminServiceAccountsRoutes(web: WebDeps) {
  const tokenUrl = `${web.config.publicUrl}${oauthPaths.token}`;
  // Only admins signed in as such get here, so there is no ceiling; the tools are read per page, as upstreams come and go.
  const offer = () => accessOffer(null, writeToolChoices(web.catalogue.tools));
  const listPage = (g: SignedInViewer, extra: { error?: string; form?: ServiceAccountForm } = {}) => {
    const offered = offer();
    return AdminServiceAccountsPage({ viewer: g.viewer, csrf: g.csrf, accounts: listServiceAccounts(web.db).map(viewOf), offer: offered, groups: toolGroups(offered.tools), ...extra });
  };
  const guardPost = (ctx: Ctx) => adminForPost(web, { request: ctx.request, jar: ctx.cookie, body: ctx.body, set: ctx.set }, path, "service accounts");
  const audit = (ctx: Ctx, entry: AuditEntry) => web.audit.record({ ...auditContext(web, ctx), ...entry });

  /** Disable or enable: the same account checks as for people, on a service account only. */
  const toggle = (event: "user_disabled" | "user_enabled") => (ctx: Ctx & { params: { id: string }; redirect: (url: string, status: 303) => Response }) => {
    const g = guardPost(ctx);
    if ("response" in g) return g.response;
    if (!findServiceAccount(web.db, ctx.params.id)) {
      ctx.set.status = 404;
      return noSuchAccount();
    }
    const user = event === "user_disabled" ? disableAccount(web.db, ctx.params.id, web.now()) : enableAccount(web.db, ctx.params.id);
    audit(ctx, { event, outcome: "ok", userId: user.id, detail: { by: g.userId, service_account: user.name } });
    return ctx.redirect(path, 303);
  };

  return new Elysia()
    .onAfterHandle(({ set }) => {
      // The secret appears on these pages.
      set.headers["cache-control"] = "no-store";
    })
    .get(path, ({ cookie, set }) => {
      const g = adminForPage(web, cookie, set, path, "service accounts");
      return "response" in g ? g.response : listPage(g);
    })
    .post(path, (ctx) => {
      const g = guardPost(ctx);
      if ("response" in g) return g.response;
      const form: ServiceAccountForm = { name: field(ctx.body, "name"), choice: field(ctx.body, "access"), ticked: fieldValues(ctx.body, "tool") };
      const fail = (error: string) => {
        ctx.set.status = 400;
        return listPage(g, { error, form });
      };
      const read = accessFromForm(ctx.body, offer());
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
        web.log.info("service account created", { user_id: g.userId, service_account_id: account.user.id });
        audit(ctx, { event: "service_account_created", outcome: "ok", userId: account.user.id, clientId: account.client.id, detail: { by: g.userId, service_account: name, access: level, tools: tools ?? "all" } });
        return ServiceAccountSecretPage({ viewer: g.viewer, csrf: g.csrf, name, clientId: account.client.id, secret: clientSecret, tokenUrl, rotated: false });
      } catch (error) {
        if (error instanceof AccountError) return fail(error.message);
        throw error;
      }
    })
    .post(`${path}/:id/secret`, (ctx) => {
      const g = guardPost(ctx);
      if ("response" in g) return g.response;
      const renewed = newServiceAccountSecret(web.db, ctx.params.id);
      if (!renewed) {
        ctx.set.status = 404;
        return noSuchAccount();
      }
      const name = renewed.account.user.name!;
      audit(ctx, { event: "service_account_secret_renewed", outcome: "ok", userId: renewed.account.user.id, clientId: renewed.account.client.id, detail: { by: g.userId, service_account: name } });
      return ServiceAccountSecretPage({ viewer: g.viewer, csrf: g.csrf, name, clientId: renewed.account.client.id, secret: renewed.clientSecret, tokenUrl, rotated: true });
    })
    .post(`${path}/:id/disable`, toggle("user_disabled"))
    .post(`${path}/:id/enable`, toggle("user_enabled"))
    .post(`${path}/:id/delete`, (ctx) => {
      const g = guardPost(ctx);
      if ("response" in g) return g.response;
      const deleted = deleteServiceAccount(web.db, ctx.params.id);
      if (!deleted) {
        ctx.set.status = 404;
        return noSuchAccount();
      }
      audit(ctx, { event: "service_account_deleted", outcome: "ok", userId: deleted.user.id, clientId: deleted.client.id, detail: { by: g.userId, service_account: deleted.user.name } });
      return ctx.redirect(path, 303);
    });
}
