import { Elysia } from "elysia";
import type { AppDeps } from "../http/deps.ts";
import type { RequestContext } from "../http/request-context.ts";
import { authenticateApiKey } from "../keys/api-keys.ts";
import { authenticateClient, clientAuthChallenge, isConfidential } from "./client-auth.ts";
import { oauthPaths } from "./endpoints.ts";
import { InvalidClient } from "./errors.ts";
import { readBodyParams } from "./params.ts";
import { noStoreJson, oauthFailure, requiredParam } from "./respond.ts";
import { findPresentedToken, isTokenActive } from "./tokens.ts";

/** Who may ask: an admin's API key sees every token; a confidential client only its own. */
type Introspector = { kind: "admin" } | { kind: "client"; clientId: string };

/**
 * RFC 7662 token introspection. §2.1: the caller must be authorized, so
 * open registration cannot turn into token scanning: a confidential client
 * learns about tokens issued to itself, an admin API key about any. Every
 * token that is unknown, not the caller's, or not usable now is just
 * `{active: false}` (§2.2).
 */
export function introspectRoutes(deps: AppDeps, context: RequestContext) {
  const clientDeps = { db: deps.db, now: deps.now, publicUrl: deps.config.publicUrl, log: deps.log };

  const introspector = async (request: Request, params: Map<string, string>): Promise<Introspector> => {
    const bearer = /^bearer +(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
    if (bearer) {
      const found = authenticateApiKey(deps.db, bearer[1]!, deps.now());
      if (!found || !found.user.isAdmin) throw new InvalidClient("Introspection needs an admin's API key or a confidential client.");
      return { kind: "admin" };
    }
    const client = await authenticateClient(clientDeps, request, params);
    if (!isConfidential(client)) throw new InvalidClient("Introspection is for confidential clients.");
    return { kind: "client", clientId: client.id };
  };

  return new Elysia().use(context).post(oauthPaths.introspect, async ({ request, requestId }) => {
    try {
      const params = await readBodyParams(request, { json: false });
      const caller = await introspector(request, params);
      const presented = findPresentedToken(deps.db, requiredParam(params, "token"));
      const now = deps.now();
      if (!presented || !isTokenActive(presented.context, now)) return noStoreJson({ active: false });
      const { token, grant, user } = presented.context;
      if (caller.kind === "client" && grant.clientId !== caller.clientId) return noStoreJson({ active: false });
      return noStoreJson({
        active: true,
        scope: token.scope,
        client_id: grant.clientId,
        username: user.email,
        // RFC 7662 §2.2 takes token_type from RFC 6749 §7.1, which names no
        // type for refresh tokens; "refresh_token" is the RFC 7009 hint value.
        token_type: token.kind === "access" ? "Bearer" : "refresh_token",
        exp: token.expiresAt,
        iat: token.createdAt,
        sub: user.id,
        aud: grant.resource,
        iss: deps.config.publicUrl,
      });
    } catch (error) {
      const challenge = /^bearer\b/i.test(request.headers.get("authorization") ?? "")
        ? { "www-authenticate": 'Bearer realm="gatehouse"' }
        : clientAuthChallenge(request, error);
      return oauthFailure(deps.log, request, requestId, error, challenge);
    }
  });
}
