import { hashSecret, newCredential } from "../security/tokens.ts";

// Confidential clients' secrets look like `gate_cs_<16>_<52>` (lowercase
// base32, so scanners can match them), are shown once, and only a SHA-256 of
// the whole string is stored in oauth_clients.secret_hash: client-auth.ts
// compares `secretMatches(presented, secretHash)` in constant time.

export const clientSecretPrefix = "gate_cs_";

export function newClientSecret(): { secret: string; secretHash: string } {
  const { token } = newCredential(clientSecretPrefix);
  return { secret: token, secretHash: hashSecret(token) };
}

/**
 * Names a client's current secret without telling anything of it (a hash of its stored
 * hash). The form that replaces a secret carries it, so the same form sent again finds a
 * different secret and replaces nothing: the one its first answer showed stays good.
 */
export function secretVersionOf(secretHash: string): string {
  return hashSecret(`gatehouse secret version\n${secretHash}`).slice(0, 16);
}
