import { describe, expect, test } from "bun:test";
import {
  authorizationResponseUrl,
  consentPageCsp,
  formActionSource,
  metadataDocumentHost,
  redirectTargetLabel,
} from "../../src/oauth/authorize-response.ts";
import { cspAllowingForms, cspHeader, pageCsp } from "../../src/security/csp.ts";
import { ConsentPage, type ConsentProps } from "../../views/consent.tsx";

// The pure pieces of the authorization response: where it goes, how the
// consent page names that place, and the CSP source that lets it go there.

const iss = "https://gatehouse.example.com";

describe("authorizationResponseUrl", () => {
  test("adds a query to a URI without one", () => {
    expect(authorizationResponseUrl("https://a.example/cb", { code: "c1", state: "s", iss })).toBe(
      "https://a.example/cb?code=c1&state=s&iss=https%3A%2F%2Fgatehouse.example.com",
    );
  });

  test("appends to the URI's own query byte for byte (RFC 6749 §3.1.2)", () => {
    expect(authorizationResponseUrl("https://a.example/cb?x=a%20b&y=~", { code: "c1", state: null, iss })).toStartWith(
      "https://a.example/cb?x=a%20b&y=~&code=c1&iss=",
    );
  });

  test("does not double a trailing ? or &", () => {
    expect(authorizationResponseUrl("https://a.example/cb?", { error: "access_denied", state: null, iss })).toStartWith(
      "https://a.example/cb?error=",
    );
    expect(
      authorizationResponseUrl("https://a.example/cb?x=1&", { error: "access_denied", state: null, iss }),
    ).toStartWith("https://a.example/cb?x=1&error=");
  });

  test("leaves out a null state", () => {
    expect(
      new URL(authorizationResponseUrl("https://a.example/cb", { code: "c", state: null, iss })).searchParams.has(
        "state",
      ),
    ).toBe(false);
  });

  test("works for an app's own scheme", () => {
    expect(
      authorizationResponseUrl("cursor://anysphere.cursor-mcp/oauth/callback", { code: "c", state: "s", iss }),
    ).toStartWith("cursor://anysphere.cursor-mcp/oauth/callback?code=c&state=s&iss=");
  });
});

describe("redirectTargetLabel", () => {
  const cases: [string, string, boolean][] = [
    ["https://vscode.dev/redirect", "vscode.dev", false],
    ["https://claude.ai/api/mcp/auth_callback", "claude.ai", false],
    ["http://127.0.0.1:33418/callback", "127.0.0.1:33418", true],
    ["http://[::1]:8080/cb", "[::1]:8080", true],
    ["cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp", false],
    ["com.example.app:/oauth", "com.example.app:", false],
  ];
  for (const [uri, label, loopback] of cases) {
    test(`${uri} reads as ${label}`, () => {
      expect(redirectTargetLabel(uri)).toEqual({ label, loopback });
    });
  }
});

describe("formActionSource", () => {
  const cases: [string, string][] = [
    ["https://claude.ai/api/mcp/auth_callback", "https://claude.ai"],
    ["http://localhost:5173/cb", "http://localhost:5173"],
    ["http://[::1]:8080/cb", "http:"],
    ["vscode://vscode.github-authentication/did-authenticate", "vscode:"],
  ];
  for (const [uri, source] of cases) {
    test(`${uri} is allowed as ${source}`, () => {
      expect(formActionSource(uri)).toBe(source);
    });
  }

  test("consentPageCsp widens only form-action", () => {
    expect(consentPageCsp("https://claude.ai/cb")).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self' https://claude.ai; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  test("every page's CSP is the documented one", () => {
    expect(cspHeader(pageCsp)).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  test("a widened CSP leaves the pages' own directives untouched", () => {
    cspAllowingForms(["https://idp.example"]);
    expect(pageCsp["form-action"]).toEqual(["'self'"]);
  });
});

describe("metadata document clients", () => {
  test("the document's host is named for a cimd client", () => {
    expect(metadataDocumentHost({ kind: "cimd", id: "https://app.example.com/oauth/client.json" })).toBe(
      "app.example.com",
    );
  });

  test("no document host for a registered client", () => {
    expect(metadataDocumentHost({ kind: "dcr", id: "gate_client_abc" })).toBeNull();
  });

  test("the consent page shows where the metadata came from", () => {
    const props: ConsentProps = {
      viewer: { email: "a@example.com", isAdmin: false },
      csrf: "c".repeat(26),
      requestId: "r".repeat(26),
      client: { name: "Example", kind: "cimd", metadataHost: "app.example.com", registeredBy: null },
      redirect: { label: "app.example.com", loopback: false },
      scopes: [{ scope: "mcp:read", description: "List and call read-only tools" }],
      access: { offer: { full: false, chosen: false }, groups: [], choice: "read", ticked: [] },
    };
    expect(ConsentPage(props)).toContain('id="metadata-host">App details from <strong>app.example.com</strong>');
  });
});
