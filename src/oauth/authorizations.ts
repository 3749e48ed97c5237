import type { Store } from "../db/store.ts";
import { type Steps, transaction } from "../db/transaction.ts";
import { apiKeyById } from "../keys/api-keys-store.ts";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import { newCredential, randomString } from "../security/tokens.ts";
import { insertAuthorization, type Authorization } from "./authorizations-store.ts";
import { insertCode } from "./codes-store.ts";

export const codePrefix = "gate_code_";

/**
 * Records an approved authorization (a connection) and issues its
 * single-use code, bound to client, redirect URI, PKCE challenge, scope and
 * resource (RFC 6749 §4.1.2, RFC 7636 §4.4, RFC 8707). `tools` are the
 * write tools ticked on the consent page (none for Read-only; null: every
 * write tool); every token of the authorization, refreshed ones too, carries them.
 * Null when the session's API key (`apiKeyId`) was revoked meanwhile: revoking a key
 * revokes what was approved with it, so nothing is approved with a revoked one.
 */
export async function approveAuthorization(
  db: Store,
  input: {
    userId: string;
    clientId: string;
    apiKeyId: string | null;
    scope: string;
    /** Absent: every write tool, as authorizations made before per-tool permissions (benches and tests make such authorizations directly). */
    tools?: string[] | null;
    /** Argument limits (argument-gates.ts): those of the key the approving session was opened with; null or absent: none. */
    argumentLimits?: ArgumentLimits | null;
    resource: string;
    redirectUri: string;
    codeChallenge: string;
    now: number;
    codeTtlSeconds: number;
    /** A last step in the same transaction, given the code: the polling bridge records its answer here, so a state answered meanwhile undoes the grant. */
    alsoInTransaction?: (tx: Store, code: string) => Steps<void>;
  },
): Promise<{ authorization: Authorization; code: string } | null> {
  const authorization: Authorization = {
    id: randomString(10),
    userId: input.userId,
    clientId: input.clientId,
    scope: input.scope,
    tools: input.tools ?? null,
    argumentLimits: input.argumentLimits ?? null,
    resource: input.resource,
    apiKeyId: input.apiKeyId,
    createdAt: input.now,
    lastUsedAt: null,
    revokedAt: null,
  };
  const { id, token, secretHash } = newCredential(codePrefix);
  const approved = await transaction(db, function* (tx) {
    // In the transaction: a key revoked before this point had its authorizations revoked without this one.
    if (input.apiKeyId !== null && (yield* apiKeyById(tx, input.apiKeyId))?.revokedAt !== null) return false;
    yield* insertAuthorization(tx, authorization);
    yield* insertCode(tx, {
      id,
      secretHash,
      grantId: authorization.id,
      clientId: input.clientId,
      redirectUri: input.redirectUri,
      codeChallenge: input.codeChallenge,
      scope: input.scope,
      resource: input.resource,
      createdAt: input.now,
      expiresAt: input.now + input.codeTtlSeconds,
      usedAt: null,
    });
    if (input.alsoInTransaction) yield* input.alsoInTransaction(tx, token);
    return true;
  });
  return approved ? { authorization, code: token } : null;
}
