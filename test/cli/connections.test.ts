import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { findUserByEmail } from "../../src/accounts/users-store.ts";
import { closeStore } from "../../src/db/operations.ts";
import { transaction } from "../../src/db/transaction.ts";
import { addClient } from "../../src/oauth/clients-store.ts";
import { approveAuthorization } from "../../src/oauth/authorizations.ts";
import { issueTokenPair } from "../../src/oauth/tokens.ts";
import { randomString } from "../../src/security/tokens.ts";
import { now, useCliSandbox } from "./sandbox.ts";

// `gatehouse connection list` and `gatehouse connection revoke`: the
// connections of the keys page, from a shell, against a real database.

const cli = useCliSandbox();

/** A connection of `email` to a client named `clientName`, with its two tokens, written as the consent page and the token endpoint write them. */
async function connect(email: string, clientName: string, opts: { scope?: string; tools?: string[] | null } = {}) {
  const known = (await cli.rows(sql`SELECT id FROM users WHERE email = ${email}`)).length > 0;
  if (!known) await cli.addUser(email);
  const db = await cli.openDb();
  try {
    const userId = (await findUserByEmail(db, email))!.id;
    const client = {
      id: randomString(10),
      kind: "dcr" as const,
      name: clientName,
      redirectUris: ["http://127.0.0.1/cb"],
      tokenEndpointAuthMethod: "none" as const,
      secretHash: null,
      clientUri: null,
      fingerprint: null,
      metadataExpiresAt: null,
      metadataFetchedAt: null,
      ownerUserId: null,
      createdAt: now(),
      lastUsedAt: null,
    };
    await transaction(db, (tx) => addClient(tx, client));
    const scope = opts.scope ?? "mcp:read mcp:write";
    const { authorization } = (await approveAuthorization(db, {
      userId,
      clientId: client.id,
      apiKeyId: null,
      scope,
      tools: opts.tools,
      resource: "http://localhost:8080/mcp",
      redirectUri: client.redirectUris[0]!,
      codeChallenge: "x".repeat(43),
      now: now(),
      codeTtlSeconds: 600,
    }))!;
    await transaction(db, (tx) =>
      issueTokenPair(tx, {
        grantId: authorization.id,
        grantScope: scope,
        accessScope: scope,
        now: now(),
        lifetimes: { accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 86400 },
      }),
    );
    return authorization.id;
  } finally {
    await closeStore(db);
  }
}

type TokenState = { kind: string; revoked_at: number | null };
const tokensOf = (grantId: string) =>
  cli.rows<TokenState>(sql`SELECT kind, revoked_at FROM oauth_tokens WHERE grant_id = ${grantId} ORDER BY kind`);
const grantRevokedAt = async (grantId: string) =>
  (await cli.rows<{ revoked_at: number | null }>(sql`SELECT revoked_at FROM oauth_grants WHERE id = ${grantId}`))[0]!
    .revoked_at;

describe("connection list", () => {
  test("shows each live connection: id, person, client, access, write tools, created, last used", async () => {
    const id = await connect("alice@example.com", "Claude");
    const run = await cli.gatehouse(["connection", "list"]);
    expect([run.code, run.err]).toEqual([0, ""]);
    const [header, row] = run.out.trimEnd().split("\n");
    expect(header!.split(/\s{2,}/)).toEqual(["ID", "USER", "CLIENT", "ACCESS", "WRITE TOOLS", "CREATED", "LAST USED"]);
    expect(row!.split(/\s{2,}/)).toEqual([
      id,
      "alice@example.com",
      "Claude",
      "full",
      "all",
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d$/),
      "never",
    ]);
  });

  test("shows Read-only and a Full connection's ticked write tools", async () => {
    const read = await connect("alice@example.com", "Cursor", { scope: "mcp:read", tools: [] });
    const some = await connect("alice@example.com", "VS Code", { tools: ["gatehouse__revoke_connection"] });
    const out = (await cli.gatehouse(["connection", "list"])).out;
    expect(out).toMatch(new RegExp(`${read}\\s+alice@example.com\\s+Cursor\\s+read\\s+none`));
    expect(out).toMatch(new RegExp(`${some}\\s+alice@example.com\\s+VS Code\\s+full\\s+gatehouse__revoke_connection`));
  });

  test("--user shows only that person's connections", async () => {
    const alices = await connect("alice@example.com", "Claude");
    const bobs = await connect("bob@example.com", "Cursor");
    const run = await cli.gatehouse(["connection", "list", "--user", "Bob@Example.com"]);
    expect(run.code).toBe(0);
    expect(run.out).toContain(bobs);
    expect(run.out).not.toContain(alices);
  });

  test("leaves out revoked connections and service accounts' grants", async () => {
    const revoked = await connect("alice@example.com", "Claude");
    await cli.gatehouse(["connection", "revoke", revoked]);
    const service = await cli.gatehouse(["service", "create", "--name", "nightly"]);
    expect(service.code).toBe(0);
    const run = await cli.gatehouse(["connection", "list"]);
    expect(run.out).toBe("ID  USER  CLIENT  ACCESS  WRITE TOOLS  CREATED  LAST USED\n");
  });

  test("--user with an unknown email exits 1 naming it", async () => {
    await cli.addUser("alice@example.com");
    const run = await cli.gatehouse(["connection", "list", "--user", "nobody@example.com"]);
    expect([run.code, run.out, run.err]).toEqual([1, "", "gatehouse: no user with the email nobody@example.com\n"]);
  });

  test("never prints a token", async () => {
    await connect("alice@example.com", "Claude");
    expect((await cli.gatehouse(["connection", "list"])).out).not.toMatch(/gate_(at|rt|code)_/);
  });
});

describe("connection revoke", () => {
  test("revokes the grant and both its tokens, and says so", async () => {
    const id = await connect("alice@example.com", "Claude");
    const run = await cli.gatehouse(["connection", "revoke", id]);
    expect(run).toEqual({ code: 0, out: `revoked ${id}\n`, err: "" });
    expect(await grantRevokedAt(id)).toBeNumber();
    expect((await tokensOf(id)).map((t) => [t.kind, t.revoked_at !== null])).toEqual([
      ["access", true],
      ["refresh", true],
    ]);
  });

  test("leaves the person's other connections alone", async () => {
    const ended = await connect("alice@example.com", "Claude");
    const kept = await connect("alice@example.com", "Cursor");
    await cli.gatehouse(["connection", "revoke", ended]);
    expect(await grantRevokedAt(kept)).toBeNull();
    expect((await tokensOf(kept)).every((t) => t.revoked_at === null)).toBe(true);
  });

  test("records connection_revoked with the owner, the grant and via cli, as the keys page does with via web", async () => {
    const id = await connect("alice@example.com", "Claude");
    await cli.gatehouse(["connection", "revoke", id]);
    const rows = await cli.rows<{ outcome: string; user_id: string; grant_id: string; detail: string }>(
      sql`SELECT outcome, user_id, grant_id, detail FROM audit_events WHERE event = 'connection_revoked'`,
    );
    const aliceId = (await cli.rows<{ id: string }>(sql`SELECT id FROM users WHERE email = 'alice@example.com'`))[0]!
      .id;
    expect(rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) }))).toEqual([
      { outcome: "ok", user_id: aliceId, grant_id: id, detail: { via: "cli" } },
    ]);
  });

  test("an already revoked id exits 1 with one line and records nothing more", async () => {
    const id = await connect("alice@example.com", "Claude");
    await cli.gatehouse(["connection", "revoke", id]);
    const run = await cli.gatehouse(["connection", "revoke", id]);
    expect([run.code, run.out, run.err]).toEqual([1, "", `gatehouse: no live connection with the id ${id}\n`]);
    expect((await cli.rows(sql`SELECT id FROM audit_events WHERE event = 'connection_revoked'`)).length).toBe(1);
  });

  test("a service account's grant is not a connection: exit 1, and the account keeps working", async () => {
    expect((await cli.gatehouse(["service", "create", "--name", "nightly"])).code).toBe(0);
    const [authorization] = await cli.rows<{ id: string }>(
      sql`SELECT g.id FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id WHERE c.kind = 'service'`,
    );
    const run = await cli.gatehouse(["connection", "revoke", authorization!.id]);
    expect([run.code, run.err]).toEqual([1, `gatehouse: no live connection with the id ${authorization!.id}\n`]);
    expect(await grantRevokedAt(authorization!.id)).toBeNull();
  });

  test("an unknown id exits 1 with one line", async () => {
    await cli.addUser("alice@example.com");
    const run = await cli.gatehouse(["connection", "revoke", "nosuchgrant"]);
    expect([run.code, run.out, run.err]).toEqual([1, "", "gatehouse: no live connection with the id nosuchgrant\n"]);
  });

  test("without an id is a usage error (exit 2)", async () => {
    const run = await cli.gatehouse(["connection", "revoke"]);
    expect([run.code, run.err]).toEqual([2, "gatehouse: usage: gatehouse connection revoke ID\n"]);
  });

  test("--help shows the usage and exits 0", async () => {
    const run = await cli.gatehouse(["connection", "revoke", "--help"]);
    expect(run.code).toBe(0);
    expect(run.out).toStartWith("Usage: gatehouse connection revoke ID\n");
  });
});
