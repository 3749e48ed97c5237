import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";
import { s256Challenge } from "../../src/oauth/pkce.ts";
import { encodeBase32, hashSecret, newCredential, parseCredential, secretMatches } from "../../src/security/tokens.ts";

const bytesOf = (s: string) => new TextEncoder().encode(s);

describe("encodeBase32 (RFC 4648 §6, lowercase, no padding)", () => {
  test("the RFC's test vectors", () => {
    const vectors = {
      "": "",
      f: "my",
      fo: "mzxq",
      foo: "mzxw6",
      foob: "mzxw6yq",
      fooba: "mzxw6ytb",
      foobar: "mzxw6ytboi",
    };
    for (const [input, output] of Object.entries(vectors)) expect(encodeBase32(bytesOf(input))).toBe(output);
  });

  test("the same text as @oslojs/encoding for every length up to 40 bytes", () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(encodeBase32(bytes)).toBe(encodeBase32LowerCaseNoPadding(bytes));
    }
  });
});

describe("secrets", () => {
  test("hashSecret is the SHA-256 hex of the secret", () => {
    expect(hashSecret("s3cret")).toBe(createHash("sha256").update("s3cret").digest("hex"));
  });

  test("secretMatches accepts the secret and refuses any other", () => {
    const { token, secretHash } = newCredential("gate_x_");
    const { secret } = parseCredential("gate_x_", token)!;
    expect(secretMatches(secret, secretHash)).toBe(true);
    const other = `${secret.slice(0, -1)}${secret.endsWith("a") ? "b" : "a"}`;
    expect(secretMatches(other, secretHash)).toBe(false);
  });
});

test("s256Challenge: RFC 7636 Appendix B", () => {
  expect(s256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  );
});
