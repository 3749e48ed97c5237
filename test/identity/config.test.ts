import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { IdentityConfigError, parseIdentityProviders } from "../../src/identity/config.ts";
import { useCliSandbox } from "../cli/sandbox.ts";
import { freePort } from "../helpers.ts";

const file = "gatehouse.toml";
const env = { GITHUB_SECRET: "gh-secret", KC_SECRET: "kc-secret" };
const parse = (text: string) => parseIdentityProviders(file, text, env);
const failure = (text: string) => {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(IdentityConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a config error");
};

const github = `[[identity_provider]]\nid = "github"\ntype = "github"\nclient_id = "Iv1.abc"\nclient_secret = "\${GITHUB_SECRET}"\n`;

describe("good [[identity_provider]] tables", () => {
  test("github gets its defaults: name GitHub, signup invite, github.com URLs, secret from the environment", () => {
    expect(parse(github)).toEqual([
      {
        id: "github",
        type: "github",
        name: "GitHub",
        issuer: null,
        clientId: "Iv1.abc",
        clientSecret: "gh-secret",
        allowedDomains: [],
        allowedOrgs: [],
        signup: "invite",
        githubUrl: "https://github.com",
        githubApiUrl: "https://api.github.com",
      },
    ]);
  });

  test("google's issuer is fixed; oidc keeps its issuer as written; domains and orgs are lowercased", () => {
    const [google, kc, gh] = parse(
      `[[identity_provider]]\nid = "google"\ntype = "google"\nclient_id = "x.apps.googleusercontent.com"\nclient_secret = "s"\nallowed_domains = ["Example.com"]\nsignup = "open"\n\n` +
        `[[identity_provider]]\nid = "keycloak"\ntype = "oidc"\nname = "Company SSO"\nissuer = "https://sso.example.com/realms/staff"\nclient_id = "gatehouse"\nclient_secret = "\${KC_SECRET}"\n\n` +
        `[[identity_provider]]\nid = "gh"\ntype = "github"\nclient_id = "a"\nclient_secret = "b"\nallowed_orgs = ["Acme"]\n`,
    );
    expect([google!.issuer, google!.name, google!.allowedDomains, google!.signup]).toEqual([
      "https://accounts.google.com",
      "Google",
      ["example.com"],
      "open",
    ]);
    expect([kc!.issuer, kc!.name, kc!.clientSecret]).toEqual([
      "https://sso.example.com/realms/staff",
      "Company SSO",
      "kc-secret",
    ]);
    expect(gh!.allowedOrgs).toEqual(["acme"]);
  });

  test("an oidc public client may omit client_secret; http is allowed on loopback", () => {
    const [p] = parse(
      `[[identity_provider]]\nid = "dev"\ntype = "oidc"\nname = "Dev"\nissuer = "http://127.0.0.1:8081"\nclient_id = "c"\n`,
    );
    expect(p!.clientSecret).toBeNull();
  });

  test("the file may hold [[upstream]] and [[identity_provider]] tables side by side", () => {
    const text = `[[upstream]]\nname = "e"\ncommand = "x"\n\n${github}`;
    expect(parseGatewayConfig(file, text, env).upstreams).toHaveLength(1);
    expect(parse(text)).toHaveLength(1);
  });
});

describe("a bad table names the file, line and field", () => {
  test("an unknown field", () => {
    expect(failure(`${github}color = "red"\n`)).toStartWith(
      "gatehouse.toml:6: identity_provider[0].color: unknown field",
    );
  });

  test("a missing client_id points at the table's header", () => {
    expect(failure(`[[identity_provider]]\nid = "g"\ntype = "github"\nclient_secret = "s"\n`)).toBe(
      "gatehouse.toml:1: identity_provider[0].client_id: is required: the client id the provider gave you",
    );
  });

  test("an unknown type", () => {
    expect(failure(`[[identity_provider]]\nid = "x"\ntype = "saml"\n`)).toStartWith(
      'gatehouse.toml:3: identity_provider[0].type: must be "github", "google" or "oidc"',
    );
  });

  test("an id that is not a slug", () => {
    expect(failure(github.replace('id = "github"', 'id = "My GitHub"'))).toStartWith(
      "gatehouse.toml:2: identity_provider[0].id: must be lowercase letters",
    );
  });

  test("a duplicate id, on the second table's line", () => {
    expect(failure(`${github}\n${github}`)).toBe(
      'gatehouse.toml:8: identity_provider[1].id: "github" is already the id of identity_provider[0]',
    );
  });

  test("an oidc provider without issuer or name", () => {
    expect(
      failure(`[[identity_provider]]\nid = "kc"\ntype = "oidc"\nissuer = "https://sso.example.com"\nclient_id = "c"\n`),
    ).toStartWith("gatehouse.toml:1: identity_provider[0].name: is required for an oidc provider");
    expect(failure(`[[identity_provider]]\nid = "kc"\ntype = "oidc"\nname = "SSO"\nclient_id = "c"\n`)).toStartWith(
      "gatehouse.toml:1: identity_provider[0].issuer: is required",
    );
  });

  test("a plain http issuer off loopback", () => {
    expect(
      failure(
        `[[identity_provider]]\nid = "kc"\ntype = "oidc"\nname = "SSO"\nissuer = "http://sso.example.com"\nclient_id = "c"\n`,
      ),
    ).toStartWith("gatehouse.toml:5: identity_provider[0].issuer: must be an https URL");
  });

  test("github-only fields on another type, and an issuer on google", () => {
    expect(
      failure(
        `[[identity_provider]]\nid = "g"\ntype = "google"\nclient_id = "c"\nclient_secret = "s"\nallowed_orgs = ["acme"]\n`,
      ),
    ).toStartWith("gatehouse.toml:6: identity_provider[0].allowed_orgs: applies to github providers only");
    expect(
      failure(
        `[[identity_provider]]\nid = "g"\ntype = "google"\nissuer = "https://evil.example"\nclient_id = "c"\nclient_secret = "s"\n`,
      ),
    ).toStartWith("gatehouse.toml:4: identity_provider[0].issuer: is fixed for Google");
  });

  test("signup other than invite or open, and a bad domain", () => {
    expect(failure(`${github}signup = "anyone"\n`)).toBe(
      'gatehouse.toml:6: identity_provider[0].signup: must be "invite" or "open", got "anyone"',
    );
    expect(failure(`${github}allowed_domains = ["not a domain"]\n`)).toStartWith(
      'gatehouse.toml:6: identity_provider[0].allowed_domains: "not a domain" is not a domain name',
    );
  });

  test("a client_secret reading an unset variable", () => {
    expect(failure(github.replace("GITHUB_SECRET", "NOPE"))).toBe(
      "gatehouse.toml:5: identity_provider[0].client_secret: reads ${NOPE}, which is not set in the environment",
    );
  });

  test("identity_provider written as a plain table", () => {
    expect(failure(`[identity_provider]\nid = "x"\n`)).toStartWith(
      "gatehouse.toml:1: identity_provider: must be written as [[identity_provider]] tables",
    );
  });
});

describe("gatehouse serve with a bad [[identity_provider]] table", () => {
  const cli = useCliSandbox();

  test("exits 1 with one line naming the file, line and field", async () => {
    const path = join(cli.root, "bad.toml");
    writeFileSync(
      path,
      `[[identity_provider]]\nid = "gh"\ntype = "github"\nclient_id = "c"\nclient_secret = "s"\nsignup = "everyone"\n`,
    );
    const run = await cli.gatehouse(["serve", "--config", path, "--port", String(freePort())]);
    expect(run).toEqual({
      code: 1,
      out: "",
      err: `gatehouse: ${path}:6: identity_provider[0].signup: must be "invite" or "open", got "everyone"\n`,
    });
  });
});
