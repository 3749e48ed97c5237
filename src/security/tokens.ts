import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { decodeHex } from "@oslojs/encoding";

// Credentials are `<prefix><id>_<secret>`: the id finds the row, and only a
// SHA-256 of the secret is stored, compared in constant time. Lowercase
// base32 keeps them free of characters that need quoting or break selection.
// Every token request makes or checks several: the hashing is Bun's native
// SHA-256 and the encoding plain integer arithmetic, where @oslojs's pure
// JavaScript SHA-256 and BigInt base32 were a tenth of a refresh's CPU.

const idBytes = 10; // 16 characters, 80 bits: unguessable as a lookup key
const secretBytes = 32; // 52 characters, 256 bits

const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 §6 base32, lowercase, without padding. */
export function encodeBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += base32Alphabet[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += base32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

export function randomString(bytes: number): string {
  return encodeBase32(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function hashSecret(secret: string): string {
  return Bun.SHA256.hash(secret, "hex");
}

export function secretMatches(secret: string, storedHash: string): boolean {
  return constantTimeEqual(Bun.SHA256.hash(secret) as Uint8Array, decodeHex(storedHash));
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
