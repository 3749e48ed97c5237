import { sha256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { decodeHex, encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";

// Credentials are `<prefix><id>_<secret>`: the id finds the row, and only a
// SHA-256 of the secret is stored, compared in constant time. Lowercase
// base32 keeps them free of characters that need quoting or break selection.

const idBytes = 10; // 16 characters, 80 bits: unguessable as a lookup key
const secretBytes = 32; // 52 characters, 256 bits

export function randomString(bytes: number): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function hashSecret(secret: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(secret)));
}

export function secretMatches(secret: string, storedHash: string): boolean {
  return constantTimeEqual(sha256(new TextEncoder().encode(secret)), decodeHex(storedHash));
}

export interface NewCredential {
  id: string;
  token: string;
  secretHash: string;
}

export function newCredential(prefix: string): NewCredential {
  const id = randomString(idBytes);
  const secret = randomString(secretBytes);
  return { id, token: `${prefix}${id}_${secret}`, secretHash: hashSecret(secret) };
}

const base32 = "[a-z2-7]";
const idLength = Math.ceil((idBytes * 8) / 5);
const secretLength = Math.ceil((secretBytes * 8) / 5);

/** Splits a credential of the given prefix, or returns null when it is not one. */
export function parseCredential(prefix: string, token: string): { id: string; secret: string } | null {
  if (!token.startsWith(prefix)) return null;
  const rest = token.slice(prefix.length);
  const match = new RegExp(`^(${base32}{${idLength}})_(${base32}{${secretLength}})$`).exec(rest);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}
