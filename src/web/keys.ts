import { Elysia } from "elysia";
import { parseDurationSeconds } from "../config.ts";
import { listLiveApiKeys } from "../keys/api-keys-store.ts";
import { accessLevelOf, ApiKeyError, createApiKey, revokeApiKey, rotateApiKey, type AccessLevel } from "../keys/api-keys.ts";
import { writeToolChoices } from "../mcp/tool-grants.ts";
import { listConnections, revokeConnection } from "../oauth/connections.ts";
import { KeyCreatedPage } from "../../views/key-created.tsx";
import { expiryChoices, KeysPage } from "../../views/keys.tsx";
import { MessagePage } from "../../views/message.tsx";
import { csrfToken, type CookieJar } from "./cookies.ts";
import { auditContext, field, fieldValues, formProblem, formRefusedPage, signedIn, viewerOf, type WebDeps } from "./context.ts";
import { signInUrl } from "./next-path.ts";
import { writeToolsFromForm } from "./write-tools-form.ts";

// The API keys page: every signed-in user manages their own keys here, and
// their connections (approved OAuth authorizations); an admin sees everyone's.
export function keysRoutes(web: WebDeps) {
  const keyRows = (userId: string) =>
    listLiveApiKeys(web.db, userId).map(({ apiKey: k }) => ({
      id: k.id,
      name: k.name,
      access: accessLevelOf(k.scope),
      tools: k.tools,
      createdAt: k.createdAt,
      lastUsedAt: k.lastUsedAt,
      expiresAt: k.expiresAt,
    }));

  // The write tools a new key can be limited to: read when the page is drawn, as upstreams come and go.
  const offeredTools = () => writeToolChoices(web.catalogue.tools);

  const listsOf = (user: { id: string; isAdmin: boolean }) => ({
    keys: keyRows(user.id),
    connections: listConnections(web.db, user.id),
    allConnections: user.isAdmin ? listConnections(web.db, null) : null,
    writeTools: offeredTools(),
  });

  /** The signed-in user for a form post, or the page to answer with instead. */
  const guardPost = (request: Request, jar: CookieJar, body: unknown, set: { status?: number | string }) => {
    const problem = formProblem(web, request, jar, body);
    if (problem) {
      set.status = 403;
      return { page: formRefusedPage(problem, "/keys") };
    }
    const current = signedIn(web, jar);
    if (!current) {
      set.status = 401;
      return { page: MessagePage({ title: "Signed out", message: "Your session ended. Sign in again.", link: { href: signInUrl("/keys"), label: "Sign in" } }) };
    }
    return { current };
  };

  return new Elysia()
    .onAfterHandle(({ set }) => {
      // Pages that list or show keys must never be stored by a cache.
      set.headers["cache-control"] = "no-store";
    })
    .get("/keys", ({ cookie, redirect }) => {
      const current = signedIn(web, cookie);
      if (!current) return redirect(signInUrl("/keys"), 303);
      return KeysPage({ viewer: viewerOf(current), csrf: csrfToken(cookie, web.secure), ...listsOf(current.user) });
    })
    .post("/keys", ({ body, cookie, request, server, set }) => {
      const guard = guardPost(request, cookie, body, set);
      if (!guard.current) return guard.page;
      const { user } = guard.current;
      const form = {
        name: field(body, "name"),
        access: field(body, "access"),
        expiresIn: field(body, "expires_in"),
        writeTools: field(body, "write_tools"),
        tools: fieldValues(body, "tool"),
      };
      const csrf = csrfToken(cookie, web.secure);
      const viewer = viewerOf(guard.current);
      const fail = (error: string) => {
        set.status = 400;
        return KeysPage({ viewer, csrf, ...listsOf(user), error, form });
      };
      if (form.access !== "read" && form.access !== "full") return fail("Choose an access level: Read-only or Full.");
      if (!expiryChoices.some((c) => c.value === form.expiresIn)) return fail("Choose when the key expires.");
      // Tools are asked only of Full keys; a Read-only key records none.
      const chosen = form.access === "full" ? writeToolsFromForm(body, offeredTools().map((t) => t.name)) : { tools: [] };
      if ("error" in chosen) return fail(chosen.error);
      try {
        const { apiKey, token } = createApiKey(web.db, {
          userId: user.id,
          name: form.name,
          access: form.access as AccessLevel,
          tools: chosen.tools,
          expiresInSeconds: form.expiresIn === "never" ? null : parseDurationSeconds(form.expiresIn),
          now: web.now(),
        });
        web.log.info("api key created", { user_id: user.id, api_key_id: apiKey.id });
        const detail = { name: apiKey.name, access: form.access, via: "web" };
        web.audit.record({ event: "key_created", outcome: "ok", userId: user.id, apiKeyId: apiKey.id, ...auditContext(web, { request, server, set }), detail });
        return KeyCreatedPage({ viewer, csrf, name: apiKey.name, token, rotated: false });
      } catch (error) {
        if (error instanceof ApiKeyError) return fail(error.message);
        throw error;
      }
    })
    .post("/keys/:id/revoke", ({ body, cookie, request, server, set, params, redirect }) => {
      const guard = guardPost(request, cookie, body, set);
      if (!guard.current) return guard.page;
      const userId = guard.current.user.id;
      if (!revokeApiKey(web.db, { id: params.id, ownerId: userId, now: web.now() })) {
        set.status = 404;
        return MessagePage({ title: "No such key", message: "That key does not exist or is already revoked.", link: { href: "/keys", label: "Back to API keys" } });
      }
      web.log.info("api key revoked", { user_id: userId, api_key_id: params.id });
      web.audit.record({ event: "key_revoked", outcome: "ok", userId, apiKeyId: params.id, ...auditContext(web, { request, server, set }), detail: { via: "web" } });
      // Revoking the key this session was opened with ends the session too.
      return redirect(signedIn(web, cookie) ? "/keys" : "/sign-in", 303);
    })
    .post("/keys/:id/rotate", ({ body, cookie, request, server, set, params }) => {
      const guard = guardPost(request, cookie, body, set);
      if (!guard.current) return guard.page;
      const viewer = viewerOf(guard.current);
      const userId = guard.current.user.id;
      const rotated = rotateApiKey(web.db, { id: params.id, ownerId: userId, now: web.now() });
      if (!rotated) {
        set.status = 404;
        return MessagePage({ title: "No such key", message: "That key does not exist or is already revoked.", link: { href: "/keys", label: "Back to API keys" } });
      }
      web.log.info("api key rotated", { user_id: userId, api_key_id: params.id, new_api_key_id: rotated.apiKey.id });
      const detail = { new_api_key_id: rotated.apiKey.id, via: "web" };
      web.audit.record({ event: "key_rotated", outcome: "ok", userId, apiKeyId: params.id, ...auditContext(web, { request, server, set }), detail });
      return KeyCreatedPage({ viewer, csrf: csrfToken(cookie, web.secure), name: rotated.apiKey.name, token: rotated.token, rotated: true });
    })
    .post("/connections/:id/revoke", ({ body, cookie, request, server, set, params, redirect }) => {
      const guard = guardPost(request, cookie, body, set);
      if (!guard.current) return guard.page;
      const { user } = guard.current;
      // The owner ends their own connection; an admin can end anyone's.
      if (!revokeConnection(web.db, { id: params.id, ownerId: user.isAdmin ? null : user.id, now: web.now() })) {
        set.status = 404;
        return MessagePage({ title: "No such connection", message: "That connection does not exist or is already revoked.", link: { href: "/keys", label: "Back to API keys" } });
      }
      web.log.info("connection revoked", { user_id: user.id, grant_id: params.id });
      web.audit.record({ event: "connection_revoked", outcome: "ok", userId: user.id, grantId: params.id, ...auditContext(web, { request, server, set }), detail: { via: "web" } });
      return redirect("/keys", 303);
    });
}
