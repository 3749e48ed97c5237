import { Elysia } from "elysia";
import type { SignedIn } from "../accounts/sessions.ts";
import { findApiKeyWithUser } from "../keys/api-keys-store.ts";
import { randomString } from "../security/tokens.ts";
import { checkToolChoice, unknownToolsMessage, writeToolChoices } from "../mcp/tool-grants.ts";
import { csrfToken, type CookieJar } from "../web/cookies.ts";
import { auditContext, field, fieldValues, formProblem, formRefusedPage, signedIn, viewerOf, type WebDeps } from "../web/context.ts";
import { ConsentPage } from "../../views/consent.tsx";
import { MessagePage } from "../../views/message.tsx";
import { checkAuthorizeRequest, grantedScopes, isAccessLevel, singleParam, type AuthorizationRequest } from "./authorize-request.ts";
import { authorizationResponseUrl, consentPageCsp, metadataDocumentHost, redirectTargetLabel } from "./authorize-response.ts";
import { resolveClient } from "./clients.ts";
import { findClientById, touchClient, type OAuthClient } from "./clients-store.ts";
import { oauthPaths } from "./endpoints.ts";
import { OAuthError } from "./errors.ts";
import { approveAuthorization } from "./grants.ts";
import { findPendingRequest, insertPendingRequest, takePendingRequest } from "./grants-store.ts";
import { mcpResourceUrl } from "./resource.ts";
import { formatScope, parseScope, scopeDescriptions, supportedScopes, type Scope } from "./scopes.ts";

/** How long the consent page may wait for an answer. */
export const pendingRequestTtlSeconds = 10 * 60;

type ResponseSet = { status?: number | string; headers: Record<string, string | number> };

/** What one consent page shows: the request it answers. */
interface ConsentView {
  client: OAuthClient;
  redirectUri: string;
  scopes: Scope[];
  requestId: string;
}

/** What a session may grant: the scopes and write tools (null: every one). */
interface Ceiling {
  scopes: Scope[];
  tools: readonly string[] | null;
}

// The authorization endpoint (RFC 6749 §4.1.1): GET shows the consent page,
// POST records the user's answer and sends the browser back to the client.
export function authorizeRoutes(web: WebDeps) {
  const issuer = web.config.publicUrl;
  const resourceUrl = mcpResourceUrl(issuer);

  const problemPage = (set: ResponseSet, status: number, message: string) => {
    set.status = status;
    return MessagePage({ title: "This app cannot connect", message });
  };

  /** What this session may grant: everything, or no more than the API key it was opened with (its scopes and write tools). */
  const ceilingOf = (current: SignedIn): Ceiling => {
    if (current.session.apiKeyId === null) return { scopes: supportedScopes, tools: null };
    const apiKey = findApiKeyWithUser(web.db, current.session.apiKeyId)?.apiKey;
    const words = apiKey?.scope.split(" ") ?? [];
    return { scopes: supportedScopes.filter((s) => words.includes(s)), tools: apiKey ? apiKey.tools : [] };
  };

  /** The write tools on offer now: the catalogue changes as upstreams come and go, so it is read per page. */
  const offeredTools = (ceiling: Ceiling) => writeToolChoices(web.catalogue.tools, ceiling.tools);

  const consentPage = (set: ResponseSet, jar: CookieJar, current: SignedIn, view: ConsentView, error?: string) => {
    set.headers["content-security-policy"] = consentPageCsp(String(set.headers["content-security-policy"] ?? ""), view.redirectUri);
    const ceiling = ceilingOf(current);
    const canWrite = view.scopes.includes("mcp:write");
    const keyAllowsWrite = ceiling.scopes.includes("mcp:write");
    return ConsentPage({
      viewer: viewerOf(current),
      csrf: csrfToken(jar, web.secure),
      requestId: view.requestId,
      client: { name: view.client.name, kind: view.client.kind, metadataHost: metadataDocumentHost(view.client) },
      redirect: redirectTargetLabel(view.redirectUri),
      scopes: view.scopes.map((scope) => ({ scope, description: scopeDescriptions[scope] })),
      access: {
        offerFull: canWrite && keyAllowsWrite,
        note: canWrite && !keyAllowsWrite ? "You signed in with a read-only API key, so you can give read-only access." : undefined,
      },
      // None is ticked: each write tool is the person's own choice, never a default.
      writeTools: {
        offered: offeredTools(ceiling),
        ticked: [],
        note: ceiling.tools === null ? undefined : "You signed in with an API key limited to some write tools, so only those are offered.",
      },
      error,
    });
  };

  const showConsent = (set: ResponseSet, jar: CookieJar, current: SignedIn, request: AuthorizationRequest) => {
    const now = web.now();
    const requestId = randomString(16);
    insertPendingRequest(web.db, {
      id: requestId,
      clientId: request.client.id,
      sessionId: current.session.id,
      redirectUri: request.redirectUri,
      scope: formatScope(request.scopes),
      state: request.state,
      codeChallenge: request.codeChallenge,
      resource: request.resource,
      createdAt: now,
      expiresAt: now + pendingRequestTtlSeconds,
    });
    return consentPage(set, jar, current, { client: request.client, redirectUri: request.redirectUri, scopes: request.scopes, requestId });
  };

  return new Elysia()
    .onAfterHandle(({ set }) => {
      // Consent pages, codes in Location headers and errors: never cached.
      set.headers["cache-control"] = "no-store";
    })
    .get(oauthPaths.authorize, async ({ request, cookie, set, redirect }) => {
      // The raw query: Elysia's parsed one would hide a repeated parameter.
      const url = new URL(request.url);
      const clientId = singleParam(url.searchParams, "client_id");
      let client: OAuthClient | null = null;
      try {
        client = clientId === null ? null : await resolveClient({ db: web.db, now: web.now, publicUrl: issuer, log: web.log }, clientId);
      } catch (error) {
        // A metadata document that cannot be fetched or read: phase 1, never a redirect.
        if (error instanceof OAuthError) return problemPage(set, 400, `The app's registration could not be read: ${error.description}`);
        throw error;
      }
      const check = checkAuthorizeRequest(url.searchParams, client, resourceUrl);
      if (check.kind === "show") return problemPage(set, 400, check.message);
      if (check.kind === "redirect") {
        const { error, state, redirectUri } = check;
        return redirect(authorizationResponseUrl(redirectUri, { error: error.code, error_description: error.description, state, iss: issuer }), 302);
      }
      const current = signedIn(web, cookie);
      // Sign in first, then come back to this same request.
      if (!current) return redirect(`/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
      return showConsent(set, cookie, current, check.request);
    })
    .post(oauthPaths.authorize, ({ body, cookie, request, server, set, redirect }) => {
      const problem = formProblem(web, request, cookie, body);
      if (problem) {
        set.status = 403;
        return formRefusedPage(problem, "/");
      }
      const current = signedIn(web, cookie);
      if (!current) return problemPage(set, 401, "Your session ended before you answered. Go back to the app and connect again.");
      const decision = field(body, "decision");
      const access = field(body, "access");
      if (decision !== "allow" && decision !== "deny") return problemPage(set, 400, "Choose Allow or Deny.");
      if (decision === "allow" && !isAccessLevel(access)) return problemPage(set, 400, "Choose an access level: Full or Read-only.");

      const now = web.now();
      const pending = findPendingRequest(web.db, field(body, "request"));
      const gone = () => problemPage(set, 400, "This request expired or was already answered. Go back to the app and connect again.");
      // Bound to this session, short-lived and single use: a replayed or stolen form gets nothing.
      if (!pending || pending.sessionId !== current.session.id || pending.expiresAt <= now) return gone();
      const ids = { user_id: current.user.id, client_id: pending.clientId };
      const respond = (params: { code?: string; error?: string; error_description?: string }) =>
        redirect(authorizationResponseUrl(pending.redirectUri, { ...params, state: pending.state, iss: issuer }), 302);

      const ceiling = ceilingOf(current);
      const scopes = decision === "allow" && isAccessLevel(access) ? grantedScopes(parseScope(pending.scope), access, ceiling.scopes) : [];
      // Refusals of the ticked tools leave the request pending, so the person can answer again.
      let tools: string[] = [];
      if (scopes.includes("mcp:write")) {
        const check = checkToolChoice(fieldValues(body, "tool"), offeredTools(ceiling).map((t) => t.name));
        if (!check.ok) return problemPage(set, 400, `${unknownToolsMessage(check.unknown)} Go back, reload the page and answer again.`);
        if (check.tools.length === 0) {
          const client = findClientById(web.db, pending.clientId);
          if (!client) return gone();
          set.status = 400;
          const view = { client, redirectUri: pending.redirectUri, scopes: parseScope(pending.scope), requestId: pending.id };
          return consentPage(set, cookie, current, view, "Tick the tools that change things this app may call, or choose Read-only.");
        }
        tools = check.tools;
      }
      if (!takePendingRequest(web.db, pending.id)) return gone();
      if (scopes.length === 0) {
        web.log.info("consent denied", ids);
        const who = { userId: current.user.id, clientId: pending.clientId, apiKeyId: current.session.apiKeyId };
        web.audit.record({ event: "consent_denied", outcome: "denied", ...who, ...auditContext(web, { request, server, set }), detail: { scope: pending.scope } });
        // RFC 6749 §4.1.2.1
        return respond({ error: "access_denied", error_description: "The user did not allow access." });
      }
      const { code, grant } = approveAuthorization(web.db, {
        userId: current.user.id,
        clientId: pending.clientId,
        // A session opened with an API key ties the grant to that key: revoking the key revokes it.
        apiKeyId: current.session.apiKeyId,
        scope: formatScope(scopes),
        tools,
        resource: pending.resource,
        redirectUri: pending.redirectUri,
        codeChallenge: pending.codeChallenge,
        now,
        codeTtlSeconds: web.config.authCodeTtlSeconds,
      });
      touchClient(web.db, pending.clientId, now);
      web.log.info("consent given", ids);
      const who = { userId: current.user.id, clientId: pending.clientId, grantId: grant.id, apiKeyId: current.session.apiKeyId };
      web.audit.record({ event: "consent_given", outcome: "ok", ...who, ...auditContext(web, { request, server, set }), detail: { scope: grant.scope, tools } });
      // RFC 6749 §4.1.2 and RFC 9207 §2
      return respond({ code });
    });
}
