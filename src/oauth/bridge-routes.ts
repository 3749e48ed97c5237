import { Elysia } from "elysia";
import type { AppDeps } from "../http/deps.ts";
import type { AuditLog } from "../audit/entry.ts";
import type { RequestContext } from "../http/request-context.ts";
import { MessagePage } from "../../views/message.tsx";
import { singleParam } from "./authorize-request.ts";
import { pendingRequestTtlSeconds } from "./authorize.ts";
import { bridgeCallbackUrl, bridgeCallbackView, pollBridge, pollParams } from "./bridge.ts";
import { findClientById } from "./clients-store.ts";
import { corsHeaders, oauthPaths } from "./endpoints.ts";
import { readBodyParams, uniqueParams } from "./params.ts";
import { noStoreJson, oauthFailure } from "./respond.ts";

/**
 * The polling bridge's two endpoints: the callback page the browser lands
 * on (it only reads; the authorization endpoint recorded the answer), and
 * the poll, which a browser plugin may call cross-origin without cookies,
 * as it calls the token endpoint. The poll takes a POST body or, as plugins
 * written for the Figma-style bridge send it, a GET query (`?state=…`): the
 * same parameters, the same answers. The request log keeps only the path
 * (src/http/request-context.ts), so the state in a GET's query never reaches the log.
 */
export function bridgeRoutes(deps: AppDeps, context: RequestContext) {
  const issuer = deps.config.publicUrl;
  const bridgeUrl = bridgeCallbackUrl(issuer);
  const answerPoll = async (readParams: () => Promise<Map<string, string>>, request: Request, requestId: string, audit: AuditLog) => {
    try {
      const { state, clientId } = pollParams(await readParams());
      const { code } = pollBridge(deps.db, { state, clientId, now: deps.now(), bridgeUrl, pendingTtlSeconds: pendingRequestTtlSeconds });
      audit.record({ event: "bridge_code_delivered", outcome: "ok", clientId });
      // RFC 9207 §2: iss, as the redirect would have carried it.
      return noStoreJson({ code, state, iss: issuer }, corsHeaders);
    } catch (error) {
      return oauthFailure(deps.log, request, requestId, error, corsHeaders);
    }
  };
  return new Elysia()
    .use(context)
    .get(oauthPaths.bridgeCallback, ({ request, set }) => {
      set.headers["cache-control"] = "no-store";
      const view = bridgeCallbackView(deps.db, singleParam(new URL(request.url).searchParams, "state"), deps.now());
      // Pending: the person has not answered, so nobody should be here yet.
      if (!view || view.status === "pending") {
        set.status = 400;
        return MessagePage({ title: "This sign-in is not valid", message: "Gatehouse has no authorization waiting for this link, or it expired. Go back to the app and connect again." });
      }
      const app = findClientById(deps.db, view.clientId)?.name ?? "the app";
      // The code never appears on the page: the app fetches it by polling.
      if (view.status === "failed") {
        return MessagePage({ title: "Access not given", message: `${app} did not get access. You can close this tab and return to ${app}.` });
      }
      return MessagePage({ title: "You can return to the app", message: `${app} is connected. You can close this tab and return to ${app}.` });
    })
    .options(oauthPaths.bridgePoll, () => new Response(null, { status: 204, headers: corsHeaders }))
    // Destructured, not `(ctx) =>`: Elysia reads a handler's parameters to decide whether to parse the body itself, and readBodyParams must be the one reading it.
    .get(oauthPaths.bridgePoll, ({ request, requestId, audit }) => answerPoll(async () => uniqueParams(new URL(request.url).searchParams), request, requestId, audit))
    .post(oauthPaths.bridgePoll, ({ request, requestId, audit }) => answerPoll(() => readBodyParams(request, { json: true }), request, requestId, audit));
}
