import { hashSecret, newCredential, secretMatches } from "../security/tokens.ts";
import type { OAuthClient } from "./clients-store.ts";

// Confidential clients' secrets look like `gate_cs_<16>_<52>` (lowercase
// base32, so scanners can match them), are shown once, and only a SHA-256 of
// the whole string is stored in oauth_clients.secret_hash: client-auth.ts
// compares `secretMatches(presented, secretHash)` in constant time.

export const clientSecretPrefix = "gate_cs_";

export function newClientSecret(): { secret: string; secretHash: string } {
  const { token } = newCredential(clientSecretPrefix);
  return { secret: token, secretHash: hashSecret(token) };
}

/** Whether `presented` is this client's secret; false for public clients. Constant time. */
export function clientSecretMatches(client: Pick<OAuthClient, "secretHash">, presented: string): boolean {
  return client.secretHash !== null && secretMatches(presented, client.secretHash);
}
