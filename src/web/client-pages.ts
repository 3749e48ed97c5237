import { Elysia, type Context } from "elysia";
import type { SignedIn } from "../accounts/sessions.ts";
import { checkRedirectUris, clientNameProblem } from "../oauth/client-metadata.ts";
import { clientInScope, clientsInScope, deleteClientInScope, type ClientOwnerScope } from "../oauth/client-owners.ts";
import type { ClientWithOwner, OAuthClient, TokenEndpointAuthMethod } from "../oauth/clients-store.ts";
import { OAuthError } from "../oauth/errors.ts";
import { liveUseOfClient } from "../oauth/authorizations-store.ts";
import { secretVersionOf } from "../oauth/client-secrets.ts";
import { changeRedirectUris, registerManualClient, renewClientSecret } from "../oauth/registration.ts";
import {
  ClientEditPage,
  ClientSecretPage,
  ClientsPage,
  clientTypeChoices,
  editHref,
  type ClientRow,
  type ClientsScope,
} from "../../views/clients.tsx";
import { ConfirmPage } from "../../views/confirm.tsx";
import { MessagePage } from "../../views/message.tsx";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards, SignedInContext } from "../http/page-guards.ts";
import { adminRefusal, keySessionRefusal, type Refusal } from "./admin-guard.ts";
import { deleteQuestion, newSecretQuestion } from "./client-confirm.ts";
import { field } from "./context.ts";
import { setFlash } from "./flash.ts";
import { applyListQuery, readListQuery, type ListSpec } from "./list-query.ts";

// The clients pages, one module for two scopes. /admin/clients: admins see
// every client (with its owner), add the organization's own, and change or
// delete any. /clients: every signed-in person registers clients they own
// and changes or deletes only those. Both edit redirect URIs, make a new
// secret and delete; deleting cascades (schema) to pending requests, grants,
// codes and tokens. Each change is in the audit log under the person who
// made it.

export type ClientPagesScope = "admin" | "own";

const keySessionMessage = {
  title: "Sign in again to manage clients",
  // A client outlives the key and can ask anyone here for access: more than a pasted (perhaps leaked) key may set up.
  message:
    "Clients are registered and changed in a sign-in with a password or an identity provider, not an API key: sign out and sign in again.",
};

/** Who may use each scope's pages: admins for /admin/clients; anyone not signed in with an API key for /clients. */
const refusals: Record<ClientPagesScope, Refusal> = {
  admin: (current) => adminRefusal(current, "clients"),
  own: (current) => keySessionRefusal(current, keySessionMessage),
};

const rowOf = ({ client: c, ownerEmail }: ClientWithOwner): ClientRow => ({
  id: c.id,
  name: c.name,
  kind: c.kind,
  redirectUris: c.redirectUris,
  authMethod: c.tokenEndpointAuthMethod,
  createdAt: c.createdAt,
  lastUsedAt: c.lastUsedAt,
  ownerEmail,
});

const clientList: ListSpec<ClientRow> = {
  columns: {
    name: { value: (c) => c.name, first: "asc" },
    owner: { value: (c) => c.ownerEmail, first: "asc" },
    created: { value: (c) => c.createdAt, first: "desc" },
    last_used: { value: (c) => c.lastUsedAt, first: "desc" },
  },
  fallback: { sort: "created", dir: "desc" },
  text: (c) => [c.name, c.id, c.ownerEmail, ...c.redirectUris],
};

/** Redirect URIs typed one per line, checked like a registration's; a message for people when refused. */
function redirectUrisFromForm(text: string): { ok: true; uris: string[] } | { ok: false; message: string } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) return { ok: false, message: "Enter at least one redirect URI." };
  try {
    return { ok: true, uris: checkRedirectUris(lines) };
  } catch (error) {
    if (error instanceof OAuthError) return { ok: false, message: error.description };
    throw error;
  }
}

/** What every audit entry about a client says of it: never its secret. */
const clientDetail = (c: OAuthClient) => ({
  kind: c.kind,
  name: c.name,
  ...(c.ownerUserId !== null && { owner_user_id: c.ownerUserId }),
});

export function clientPagesRoutes(web: WebDeps, pages: PageGuards, which: ClientPagesScope) {
  const scope: ClientsScope = { path: which === "admin" ? "/admin/clients" : "/clients", admin: which === "admin" };
  const { path } = scope;
  /** Every page and form post here: a new object per route, as Elysia consumes the options it is given. */
  const page = () => ({ signedIn: { refuse: refusals[which] } });
  const post = () => ({ form: path, signedIn: { refuse: refusals[which] } });
  /** Whose clients this page shows: every client's for admins, else the signed-in person's own. */
  const ownerOf = (g: { current: SignedIn }): ClientOwnerScope => (which === "admin" ? null : g.current.user.id);

  const noSuchClientPage = (set: Context["set"]) => {
    set.status = 404;
    return MessagePage({
      title: "No such client",
      message: "That client does not exist (any more).",
      link: { href: path, label: "Back to OAuth clients" },
    });
  };
  /** The client a form post names, when this person may manage it. */
  const postedClient = (g: { current: SignedIn }, body: unknown) =>
    clientInScope(web.db, ownerOf(g), field(body, "client_id"));
  /** The client a page's `?id=` names, when this person may manage it. */
  const queriedClient = (g: { current: SignedIn; query: Record<string, unknown> }) =>
    clientInScope(web.db, ownerOf(g), typeof g.query.id === "string" ? g.query.id : "");
  const publicClientPage = (ctx: SignedInContext & { set: Context["set"] }, found: ClientWithOwner) => {
    ctx.set.status = 400;
    return ClientEditPage({
      viewer: ctx.viewer,
      csrf: ctx.csrf,
      scope,
      client: rowOf(found),
      error: "A public client has no secret: it proves itself with PKCE.",
    });
  };

  const listPage = async (
    g: SignedInContext,
    extra: { error?: string; form?: { name: string; redirectUris: string; type: string } } = {},
    search = new URLSearchParams(),
  ) => {
    const list = readListQuery(search, clientList);
    return ClientsPage({
      viewer: g.viewer,
      csrf: g.csrf,
      scope,
      clients: applyListQuery((await clientsInScope(web.db, ownerOf(g))).map(rowOf), list, clientList),
      list: { ...list, path },
      now: web.now(),
      ...extra,
    });
  };

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      // Client secrets appear on these pages.
      set.headers["cache-control"] = "no-store";
    })
    .get(path, (ctx) => listPage(ctx, {}, new URL(ctx.request.url).searchParams), page())
    .post(
      path,
      async (ctx) => {
        const { body, set } = ctx;
        const form = {
          name: field(body, "name").trim(),
          redirectUris: field(body, "redirect_uris"),
          type: field(body, "type"),
        };
        const fail = async (error: string) => {
          set.status = 400;
          return listPage(ctx, { error, form });
        };
        if (!form.name) return fail("Give the client a name.");
        const nameProblem = clientNameProblem(form.name);
        if (nameProblem) return fail(nameProblem);
        const read = redirectUrisFromForm(form.redirectUris);
        if (!read.ok) return fail(read.message);
        if (!clientTypeChoices.some((c) => c.value === form.type)) return fail("Choose Public or Confidential.");
        // An admin's client belongs to the organization; a person's own client to them.
        const { client, secret } = await registerManualClient(web.db, {
          name: form.name,
          redirectUris: read.uris,
          method: form.type as TokenEndpointAuthMethod,
          ownerUserId: ownerOf(ctx),
          now: web.now(),
        });
        web.log.info("client added", {
          user_id: ctx.current.user.id,
          client_id: client.id,
          auth_method: client.tokenEndpointAuthMethod,
        });
        ctx.audit.record({
          event: "client_registered",
          outcome: "ok",
          userId: ctx.current.user.id,
          clientId: client.id,
          detail: { ...clientDetail(client), auth_method: client.tokenEndpointAuthMethod },
        });
        // A public client has nothing to show once: Post/Redirect/Get to its page, which shows its ID.
        if (secret === null) {
          const added = `Added “${client.name}”: give the app its client ID, ${client.id}. It has no secret: it uses PKCE.`;
          setFlash(ctx.cookie, web.secure, added);
          return ctx.redirect(editHref(scope, client.id), 303);
        }
        // The secret is shown once, as this answer: a redirect would need it kept somewhere to show it after.
        return ClientSecretPage({
          viewer: ctx.viewer,
          csrf: ctx.csrf,
          scope,
          name: client.name,
          clientId: client.id,
          secret,
          renewed: false,
        });
      },
      post(),
    )
    .get(
      `${path}/edit`,
      async (ctx) => {
        const id = typeof ctx.query.id === "string" ? ctx.query.id : "";
        const found = await clientInScope(web.db, ownerOf(ctx), id);
        if (!found) return noSuchClientPage(ctx.set);
        return ClientEditPage({ viewer: ctx.viewer, csrf: ctx.csrf, scope, client: rowOf(found) });
      },
      page(),
    )
    .post(
      `${path}/redirect-uris`,
      async (ctx) => {
        const found = await postedClient(ctx, ctx.body);
        if (!found) return noSuchClientPage(ctx.set);
        const { client } = found;
        const text = field(ctx.body, "redirect_uris");
        const fail = (error: string) => {
          ctx.set.status = 400;
          return ClientEditPage({
            viewer: ctx.viewer,
            csrf: ctx.csrf,
            scope,
            client: rowOf(found),
            error,
            redirectUris: text,
          });
        };
        if (client.kind === "cimd") return fail("This client's redirect URIs come from its metadata document.");
        const read = redirectUrisFromForm(text);
        if (!read.ok) return fail(read.message);
        const uris = read.uris;
        await changeRedirectUris(web.db, client.id, uris);
        web.log.info("client redirect uris changed", { user_id: ctx.current.user.id, client_id: client.id });
        ctx.audit.record({
          event: "client_redirect_uris_changed",
          outcome: "ok",
          userId: ctx.current.user.id,
          clientId: client.id,
          detail: { ...clientDetail(client), redirect_uris: uris },
        });
        setFlash(ctx.cookie, web.secure, `Saved the redirect URIs of “${client.name}”.`);
        return ctx.redirect(path, 303);
      },
      post(),
    )
    .get(
      `${path}/secret`,
      async (ctx) => {
        const found = await queriedClient(ctx);
        if (!found) return noSuchClientPage(ctx.set);
        const { secretHash } = found.client;
        if (found.client.tokenEndpointAuthMethod === "none" || secretHash === null) return publicClientPage(ctx, found);
        return ConfirmPage({
          viewer: ctx.viewer,
          csrf: ctx.csrf,
          ...newSecretQuestion(found.client, secretHash, path, editHref(scope, found.client.id)),
        });
      },
      page(),
    )
    .post(
      `${path}/secret`,
      async (ctx) => {
        const found = await postedClient(ctx, ctx.body);
        if (!found) return noSuchClientPage(ctx.set);
        const { client } = found;
        if (client.tokenEndpointAuthMethod === "none" || client.secretHash === null)
          return publicClientPage(ctx, found);
        // The confirmation names the secret it replaces: the same form sent twice (a reload of
        // the answer) finds another secret and replaces nothing, so the one shown stays good.
        const notReplaced = () => {
          ctx.set.status = 409;
          return MessagePage({
            title: "No new secret made",
            message:
              "This client's secret changed after that page was drawn (was the form sent twice?), so the secret shown then is still the one that works.",
            link: { href: editHref(scope, client.id), label: "Back to the client" },
          });
        };
        if (field(ctx.body, "secret_version") !== secretVersionOf(client.secretHash)) return notReplaced();
        // Null: another answer replaced the same secret first (renewClientSecret checks in its transaction).
        const secret = await renewClientSecret(web.db, client);
        if (secret === null) return notReplaced();
        web.log.info("client secret renewed", { user_id: ctx.current.user.id, client_id: client.id });
        ctx.audit.record({
          event: "client_secret_renewed",
          outcome: "ok",
          userId: ctx.current.user.id,
          clientId: client.id,
          detail: clientDetail(client),
        });
        // Shown once, as this answer (not a redirect: that would need the secret kept to show it after).
        const flash = `Made a new secret for “${client.name}”: the old one has stopped working.`;
        return ClientSecretPage({
          viewer: { ...ctx.viewer, flash },
          csrf: ctx.csrf,
          scope,
          name: client.name,
          clientId: client.id,
          secret,
          renewed: true,
        });
      },
      post(),
    )
    .get(
      `${path}/delete`,
      async (ctx) => {
        const found = await queriedClient(ctx);
        if (!found) return noSuchClientPage(ctx.set);
        const use = await liveUseOfClient(web.db, found.client.id, web.now());
        return ConfirmPage({
          viewer: ctx.viewer,
          csrf: ctx.csrf,
          ...deleteQuestion(found.client, use, path, editHref(scope, found.client.id)),
        });
      },
      page(),
    )
    .post(
      `${path}/delete`,
      async (ctx) => {
        const found = await postedClient(ctx, ctx.body);
        if (!found || !(await deleteClientInScope(web.db, ownerOf(ctx), found.client.id)))
          return noSuchClientPage(ctx.set);
        const { client } = found;
        web.log.info("client deleted", { user_id: ctx.current.user.id, client_id: client.id });
        ctx.audit.record({
          event: "client_deleted",
          outcome: "ok",
          userId: ctx.current.user.id,
          clientId: client.id,
          detail: clientDetail(client),
        });
        setFlash(ctx.cookie, web.secure, `Deleted “${client.name}”: every token issued to it has stopped working.`);
        return ctx.redirect(path, 303);
      },
      post(),
    );
}
