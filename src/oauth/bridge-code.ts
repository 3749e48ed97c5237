import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { hmac } from "@oslojs/crypto/hmac";
import { SHA256 } from "@oslojs/crypto/sha2";
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";

// The polling bridge keeps an authorization code between consent and the
// client's poll. It is stored sealed with a key only the state gives:
// AES-256-GCM under HMAC-SHA-256(state, label), a derivation unrelated to the
// SHA-256 of the state that keys the row (bridge.ts), so the database alone
// (a backup, a copied file) does not reveal the code. The client id is the
// additional authenticated data: a sealed code moved to another client's row
// does not open.

const keyLabel = "gatehouse bridge code v1";
const version = "v1";
// NIST SP 800-38D §8.2.2: a random 96-bit nonce (each state's key seals one code anyway).
const nonceBytes = 12;
// The full 128-bit tag: a shorter one would be accepted unless the length is fixed.
const tagBytes = 16;
const encoder = new TextEncoder();

function keyOf(state: string): Uint8Array {
  return hmac(SHA256, encoder.encode(state), encoder.encode(keyLabel));
}

/** `v1.<nonce>.<ciphertext and tag>`, base64url: what the bridge row stores for a code. */
export function sealBridgeCode(input: { state: string; clientId: string; code: string }): string {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv("aes-256-gcm", keyOf(input.state), nonce, { authTagLength: tagBytes });
  cipher.setAAD(encoder.encode(input.clientId));
  const sealed = Buffer.concat([cipher.update(input.code, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return [version, encodeBase64urlNoPadding(nonce), encodeBase64urlNoPadding(sealed)].join(".");
}

/**
 * The code sealed in `stored`, or null when it does not open with this state
 * and client: tampered, another state's, or not sealed at all (a row written
 * in plaintext before codes were sealed).
 */
export function openBridgeCode(input: { state: string; clientId: string; stored: string }): string | null {
  const parts = input.stored.split(".");
  if (parts.length !== 3 || parts[0] !== version) return null;
  try {
    const nonce = decodeBase64urlIgnorePadding(parts[1]!);
    const sealed = decodeBase64urlIgnorePadding(parts[2]!);
    if (nonce.length !== nonceBytes || sealed.length <= tagBytes) return null;
    const decipher = createDecipheriv("aes-256-gcm", keyOf(input.state), nonce, { authTagLength: tagBytes });
    decipher.setAAD(encoder.encode(input.clientId));
    decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
    const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - tagBytes)), decipher.final()]);
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    // Bad base64, a failed tag check or bytes that are not UTF-8: all mean "does not open".
    return null;
  }
}
