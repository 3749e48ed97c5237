import { describe, expect, test } from "bun:test";
import { policyProblem } from "../../src/identity/account-match.ts";
import type { IdentityProviderConfig } from "../../src/identity/config.ts";
import { decodeFlow, encodeFlow, type SignInFlow } from "../../src/identity/flow-cookie.ts";

const provider = (o: Partial<IdentityProviderConfig> = {}): IdentityProviderConfig => ({
  id: "p",
  type: "github",
  name: "P",
  issuer: null,
  clientId: "c",
  clientSecret: "s",
  allowedDomains: [],
  allowedOrgs: [],
  signup: "invite",
  githubUrl: "https://github.com",
  githubApiUrl: "https://api.github.com",
  ...o,
});
const who = (email: string | null, emailVerified = true, orgs: string[] | null = null) => ({
  subject: "1",
  email,
  emailVerified,
  orgs,
});

describe("policyProblem", () => {
  test("a missing or unverified email", () => {
    expect(policyProblem(provider(), who(null))).toBe("unverified_email");
    expect(policyProblem(provider(), who("a@example.com", false))).toBe("unverified_email");
  });

  test("allowed_domains matches the whole domain, not a suffix", () => {
    const p = provider({ allowedDomains: ["example.com"] });
    expect(policyProblem(p, who("a@example.com"))).toBeNull();
    expect(policyProblem(p, who("a@evilexample.com"))).toBe("domain_not_allowed");
    expect(policyProblem(p, who("a@sub.example.com"))).toBe("domain_not_allowed");
  });

  test("allowed_orgs needs one shared organization", () => {
    const p = provider({ allowedOrgs: ["acme"] });
    expect(policyProblem(p, who("a@example.com", true, ["acme"]))).toBeNull();
    expect(policyProblem(p, who("a@example.com", true, []))).toBe("org_not_allowed");
    expect(policyProblem(p, who("a@example.com", true, null))).toBe("org_not_allowed");
  });
});

describe("the flow cookie", () => {
  const flow: SignInFlow = {
    provider: "p",
    state: "s",
    nonce: "n",
    verifier: "v",
    next: "/keys",
    invitation: null,
    expiresAt: 2000,
  };

  test("round-trips until it expires", () => {
    expect(decodeFlow(encodeFlow(flow), 1999)).toEqual(flow);
    expect(decodeFlow(encodeFlow(flow), 2000)).toBeNull();
  });

  test("anything malformed reads as no flow", () => {
    for (const value of [
      null,
      "",
      "not base64!",
      Buffer.from("[]").toString("base64url"),
      encodeFlow({ ...flow, state: "" }),
      Buffer.from('{"provider":1}').toString("base64url"),
    ]) {
      expect(decodeFlow(value, 0)).toBeNull();
    }
  });
});
