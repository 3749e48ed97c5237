import { constantTimeEqual } from "@oslojs/crypto/subtle";

// RFC 7636 §4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
const verifierPattern = /^[A-Za-z0-9\-._~]{43,128}$/;

export function isCodeVerifier(value: string): boolean {
  return verifierPattern.test(value);
}

/** RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))). */
export function s256Challenge(verifier: string): string {
  // Bun's base64url digest has no padding, as the RFC's BASE64URL-ENCODE.
  return Bun.SHA256.hash(verifier, "base64url");
}

/** RFC 7636 §4.6, S256 only: the verifier's challenge equals the stored one, compared in constant time. */
export function verifyS256(verifier: string, storedChallenge: string): boolean {
  if (!isCodeVerifier(verifier)) return false;
  const encoder = new TextEncoder();
  const computed = encoder.encode(s256Challenge(verifier));
  const stored = encoder.encode(storedChallenge);
  return computed.length === stored.length && constantTimeEqual(computed, stored);
}
