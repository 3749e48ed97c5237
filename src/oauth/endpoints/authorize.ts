import { Elysia, type Context } from "elysia";
import type { SignedIn } from "../../accounts/sessions.ts";
import { randomString } from "../../security/tokens.ts";
import { csrfToken, type CookieJar } from "../../web/cookies.ts";
import type { WebDeps } from "../../http/deps.ts";
import type { PageGuards } from "../../http/page-guards.ts";
import { ceilingOf, field, signedIn, viewerOf } from "../../web/context.ts";
import { signInUrl } from "../../web/next-path.ts";
import { ConsentPage } from "../../../views/consent.tsx";
import { MessagePage } from "../../../views/message.tsx";
import { checkAuthorizeRequest, singleParam, type AuthorizationRequest } from "../authorize-request.ts";
import { authorizationResponseUrl, consentPageCsp, redirectTargetLabel } from "../authorize-response.ts";
import {
  answerBridge,
  type BridgeAnswer,
  BridgeStateTaken,
  bridgeCallbackUrl,
  claimBridgeState,
  openBridgeEntry,
} from "../bridge.ts";
import { resolveClient } from "../clients.ts";
import { findClientById, touchClient, type OAuthClient } from "../clients-store.ts";
import { oauthPaths } from "../paths.ts";
import { OAuthError } from "../errors.ts";
import { approveAuthorization } from "../authorizations.ts";
import { findPendingRequest, insertPendingRequest, takePendingRequest } from "../pending-requests-store.ts";
import { consentAccessFields, consentClient, consentAnswer, consentLimits, consentOffer } from "../consent.ts";
import { formatScope, parseScope, scopeDescriptions, type Scope } from "../scopes.ts";

/** How long the consent page may wait for an answer. */
export const pendingRequestTtlSeconds = 10 * 60;
const sessionEnded = "Your session ended before you answered. Go back to the app and connect again.";

/** What one consent page shows: the request it answers. */
interface ConsentView {
  client: OAuthClient;
  redirectUri: string;
  scopes: Scope[];
  requestId: string;
}

// The authorization endpoint (RFC 6749 §4.1.1): GET shows the consent page,
// POST records the user's answer and sends the browser back to the client.
export function authorizeRoutes(web: WebDeps, pages: PageGuards) {
  const issuer = web.config.publicUrl;
  const bridgeUrl = bridgeCallbackUrl(issuer);
  const bridgeStateTaken =
    "This sign-in was already used (its state was answered before). Go back to the app and connect again.";

  /** The polling bridge's answer for `state`, which the client will poll for; null when the redirect is not the bridge's. */
  const bridgeAnswer = (
    redirectUri: string,
    clientId: string,
    state: string | null,
    answer: { code?: string; error?: string },
  ): BridgeAnswer | null => {
    if (redirectUri !== bridgeUrl || state === null) return null;
    const now = web.now();
    return {
      state,
      clientId,
      code: answer.code ?? null,
      error: answer.error ?? null,
      now,
      expiresAt: now + web.config.authCodeTtlSeconds,
    };
  };
  /** For the polling bridge, records the answer the client will poll for; false when its state was answered before. */
  const answerIfBridge = async (
    redirectUri: string,
    clientId: string,
    state: string | null,
    answer: { code?: string; error?: string },
  ) => {
    const entry = bridgeAnswer(redirectUri, clientId, state, answer);
    return entry === null || answerBridge(web.db, entry);
  };
  /** For the polling bridge, opens (or confirms) the entry the client polls while the person decides. */
  const openIfBridge = async (redirectUri: string, clientId: string, state: string | null) => {
    if (redirectUri !== bridgeUrl || state === null) return true;
    const now = web.now();
    return openBridgeEntry(web.db, { state, clientId, now, expiresAt: now + pendingRequestTtlSeconds });
  };

  const problemPage = (set: Context["set"], status: number, message: string) => {
    set.status = status;
    return MessagePage({ title: "This app cannot connect", message });
  };

  /** The page for one request; `posted` (a form answered with an error) keeps what the person chose. */
  const consentPage = async (
    set: Context["set"],
    jar: CookieJar,
    current: SignedIn,
    view: ConsentView,
    error?: string,
    posted?: unknown,
  ) => {
    set.headers["content-security-policy"] = consentPageCsp(view.redirectUri);
    // The write tools on offer now: the catalogue changes as upstreams come and go, so it is read per page.
    const offer = consentOffer(current, web.catalogue, view.scopes);
    return ConsentPage({
      viewer: viewerOf(current),
      csrf: csrfToken(jar, web.secure),
      requestId: view.requestId,
      client: await consentClient(web.db, view.client),
      redirect: redirectTargetLabel(view.redirectUri),
      scopes: view.scopes.map((scope) => ({ scope, description: scopeDescriptions[scope] })),
      access: consentAccessFields(current, offer, view.scopes, posted),
      limits: consentLimits(current, web.policies ?? []),
      error,
    });
  };

  const showConsent = async (set: Context["set"], jar: CookieJar, current: SignedIn, request: AuthorizationRequest) => {
    if (!(await openIfBridge(request.redirectUri, request.client.id, request.state)))
      return problemPage(set, 400, bridgeStateTaken);
    const now = web.now();
    const requestId = randomString(16);
    await insertPendingRequest(web.db, {
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
    return consentPage(set, jar, current, {
      client: request.client,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
      requestId,
    });
  };

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      // Consent pages, codes in Location headers and errors: never cached.
      set.headers["cache-control"] = "no-store";
    })
    .get(oauthPaths.authorize, async ({ request, cookie, set, redirect }) => {
      // The raw query: Elysia's parsed one would hide a repeated parameter.
      const url = new URL(request.url);
      const clientId = singleParam(url.searchParams, "client_id");
      let client: OAuthClient | null = null;
      try {
        client =
          clientId === null
            ? null
            : await resolveClient({ db: web.db, now: web.now, publicUrl: issuer, log: web.log }, clientId);
      } catch (error) {
        // A metadata document that cannot be fetched or read: phase 1, never a redirect.
        if (error instanceof OAuthError)
          return problemPage(set, 400, `The app's registration could not be read: ${error.description}`);
        throw error;
      }
      const check = checkAuthorizeRequest(url.searchParams, client, issuer, bridgeUrl);
      if (check.kind === "show") return problemPage(set, 400, check.message);
      if (check.kind === "redirect") {
        const { error, state, redirectUri } = check;
        if (!(await answerIfBridge(redirectUri, client!.id, state, { error: error.code })))
          return problemPage(set, 400, bridgeStateTaken);
        return redirect(
          authorizationResponseUrl(redirectUri, {
            error: error.code,
            error_description: error.description,
            state,
            iss: issuer,
          }),
          302,
        );
      }
      const current = await signedIn(web, cookie);
      // Sign in first, then come back to this same request.
      if (!current) return redirect(signInUrl(url.pathname + url.search), 303);
      return showConsent(set, cookie, current, check.request);
    })
    .post(
      oauthPaths.authorize,
      async ({ body, cookie, audit, set, redirect }) => {
        const current = await signedIn(web, cookie);
        if (!current) return problemPage(set, 401, sessionEnded);
        const decision = field(body, "decision");
        if (decision !== "allow" && decision !== "deny") return problemPage(set, 400, "Choose Allow or Deny.");

        const now = web.now();
        const pending = await findPendingRequest(web.db, field(body, "request"));
        const gone = () =>
          problemPage(set, 400, "This request expired or was already answered. Go back to the app and connect again.");
        // Bound to this session, short-lived and single use: a replayed or stolen form gets nothing.
        if (!pending || pending.sessionId !== current.session.id || pending.expiresAt <= now) return gone();
        const ids = { user_id: current.user.id, client_id: pending.clientId };
        const respond = async (
          params: { code?: string; error?: string; error_description?: string },
          bridgeAnswered = false,
        ) => {
          if (!bridgeAnswered && !(await answerIfBridge(pending.redirectUri, pending.clientId, pending.state, params)))
            return problemPage(set, 400, bridgeStateTaken);
          return redirect(
            authorizationResponseUrl(pending.redirectUri, { ...params, state: pending.state, iss: issuer }),
            302,
          );
        };

        const requested = parseScope(pending.scope);
        const answer =
          decision === "allow"
            ? consentAnswer(body, consentOffer(current, web.catalogue, requested), requested, ceilingOf(current))
            : { ok: true as const, scopes: [], tools: [], argumentLimits: null };
        // A form that cannot be granted as posted is shown again with why; the request stays pending.
        if (!answer.ok) {
          const client = await findClientById(web.db, pending.clientId);
          if (!client) return gone();
          set.status = 400;
          const view = { client, redirectUri: pending.redirectUri, scopes: requested, requestId: pending.id };
          return consentPage(set, cookie, current, view, answer.error, body);
        }
        const { scopes, tools, argumentLimits } = answer;
        // Another tab may have answered the same bridge state: check before a grant is made.
        if (!(await openIfBridge(pending.redirectUri, pending.clientId, pending.state)))
          return problemPage(set, 400, bridgeStateTaken);
        if (!(await takePendingRequest(web.db, pending.id))) return gone();
        if (scopes.length === 0) {
          web.log.info("consent denied", ids);
          const who = { userId: current.user.id, clientId: pending.clientId, apiKeyId: current.session.apiKeyId };
          audit.record({ event: "consent_denied", outcome: "denied", ...who, detail: { scope: pending.scope } });
          // RFC 6749 §4.1.2.1
          return respond({ error: "access_denied", error_description: "The user did not allow access." });
        }
        // The bridge's answer is recorded with the grant, in one transaction: when another
        // tab answered the same state meanwhile, no grant or code is left behind.
        const viaBridge = (code: string) =>
          bridgeAnswer(pending.redirectUri, pending.clientId, pending.state, { code });
        let approved: Awaited<ReturnType<typeof approveAuthorization>>;
        try {
          approved = await approveAuthorization(web.db, {
            userId: current.user.id,
            clientId: pending.clientId,
            // A session opened with an API key ties the grant to that key: revoking the key revokes it.
            apiKeyId: current.session.apiKeyId,
            scope: formatScope(scopes),
            tools,
            argumentLimits,
            resource: pending.resource,
            redirectUri: pending.redirectUri,
            codeChallenge: pending.codeChallenge,
            now,
            codeTtlSeconds: web.config.authCodeTtlSeconds,
            alsoInTransaction: function* (tx, code) {
              const answer = viaBridge(code);
              if (answer !== null) yield* claimBridgeState(tx, answer);
            },
          });
        } catch (error) {
          if (error instanceof BridgeStateTaken) return problemPage(set, 400, bridgeStateTaken);
          throw error;
        }
        // The session's key was revoked while this answer was on its way: that ended the session too.
        if (!approved) return problemPage(set, 401, sessionEnded);
        const { code, authorization: grant } = approved;
        await touchClient(web.db, pending.clientId, now);
        web.log.info("consent given", ids);
        const who = {
          userId: current.user.id,
          clientId: pending.clientId,
          grantId: grant.id,
          apiKeyId: current.session.apiKeyId,
        };
        audit.record({
          event: "consent_given",
          outcome: "ok",
          ...who,
          detail: {
            scope: grant.scope,
            tools: tools ?? "all",
            ...(argumentLimits && { argument_limits: argumentLimits }),
          },
        });
        // RFC 6749 §4.1.2 and RFC 9207 §2
        return respond({ code }, true);
      },
      { form: "/" },
    );
}
