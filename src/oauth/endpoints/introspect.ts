import { authenticateApiKey } from "../../keys/api-keys.ts";
import { authenticateClient, clientAuthChallenge, isConfidential } from "../client-auth.ts";
import { InvalidClient } from "../errors.ts";
import { requiredParam } from "../params.ts";
import { oauthPaths } from "../paths.ts";
import { findPresentedToken, isTokenActive } from "../tokens.ts";
import { noStoreJson, oauthEndpoint, type CallerCheck, type EndpointDeps } from "./endpoint.ts";
import type { RequestContext } from "../../http/request-context.ts";

/** Who may ask: an admin's API key sees every token; a confidential client only its own. */
type Introspector = { kind: "admin" } | { kind: "client"; clientId: string };

const bearerScheme = /^bearer\b/i;

/**
 * RFC 7662 token introspection. §2.1: the caller must be authorized, so
 * open registration cannot turn into token scanning: a confidential client
 * learns about tokens issued to itself, an admin API key about any. Every
 * token that is unknown, not the caller's, or not usable now is just
 * `{active: false}` (§2.2).
 */
export function introspectRoutes(deps: EndpointDeps, context: RequestContext) {
  const clientDeps = { db: deps.db, now: deps.now, publicUrl: deps.config.publicUrl, log: deps.log };
  const introspector: CallerCheck<Introspector> = {
    async authenticate(request, params) {
      const bearer = /^bearer +(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
      if (bearer) {
        const found = await authenticateApiKey(deps.db, bearer[1]!, deps.now());
        if (!found?.user.isAdmin)
          throw new InvalidClient("Introspection needs an admin's API key or a confidential client.");
        return { kind: "admin" };
      }
      const client = await authenticateClient(clientDeps, request, params);
      if (!isConfidential(client)) throw new InvalidClient("Introspection is for confidential clients.");
      return { kind: "client", clientId: client.id };
    },
    // A caller that came with a Bearer key hears the Bearer scheme, whatever went wrong.
    challenge: (request, error) =>
      bearerScheme.test(request.headers.get("authorization") ?? "")
        ? { "www-authenticate": 'Bearer realm="gatehouse"' }
        : clientAuthChallenge(request, error),
  };

  return oauthEndpoint(
    deps,
    context,
    oauthPaths.introspect,
    { body: "form", clientAuth: introspector, cors: false },
    async ({ params, client: caller }) => {
      const presented = await findPresentedToken(deps.db, requiredParam(params, "token"));
      const now = deps.now();
      if (!presented || !isTokenActive(presented.context, now)) return noStoreJson({ active: false });
      const { token, authorization, user } = presented.context;
      if (caller.kind === "client" && authorization.clientId !== caller.clientId) return noStoreJson({ active: false });
      return noStoreJson({
        active: true,
        scope: token.scope,
        client_id: authorization.clientId,
        username: user.email,
        // RFC 7662 §2.2 takes token_type from RFC 6749 §7.1, which names no
        // type for refresh tokens; "refresh_token" is the RFC 7009 hint value.
        token_type: token.kind === "access" ? "Bearer" : "refresh_token",
        exp: token.expiresAt,
        iat: token.createdAt,
        sub: user.id,
        aud: authorization.resource,
        iss: deps.config.publicUrl,
      });
    },
  );
}
