import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../helpers.ts";
import { startHttpUpstream } from "../gateway/http-upstream.ts";
import { idOf, keyLine, useCliSandbox } from "./sandbox.ts";

// `gatehouse key create --tools a,b`: a Full key limited to write tools,
// checked against what /mcp offers (built-in tools and the upstreams').

const cli = useCliSandbox();
const revoke = "gatehouse__revoke_connection";
// As JSON text on both stores: PostgreSQL's client would read jsonb as the value.
const toolsOf = async (id: string) =>
  (
    await cli.rows<{ tools: string | null }>(sql`SELECT CAST(tools AS TEXT) AS tools FROM api_keys WHERE id = ${id}`)
  )[0]!.tools;

function configFile(toml: string): string {
  const file = join(cli.root, "gatehouse.toml");
  writeFileSync(file, toml);
  return file;
}

describe("key create --tools", () => {
  test("a built-in write tool: exit 0, the key alone on stdout, the tool recorded", async () => {
    await cli.addUser("ci@example.com");
    const run = await cli.gatehouse(["key", "create", "--user", "ci@example.com", "--name", "ci", "--tools", revoke]);
    expect(run).toMatchObject({ code: 0, err: "" });
    expect(run.out).toMatch(keyLine);
    expect(JSON.parse((await toolsOf(idOf(run.out.trim())))!)).toEqual([revoke]);
  });

  test("without --tools a Full key may call every write tool (null)", async () => {
    await cli.addUser("ci@example.com");
    expect(await toolsOf(idOf(await cli.createKey("ci@example.com")))).toBeNull();
  });

  test("an unknown name: exit 2, one line naming it and the write tools, no key", async () => {
    await cli.addUser("ci@example.com");
    const run = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--tools",
      `${revoke},nope__x`,
    ]);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err).toBe(`gatehouse: --tools: Gatehouse has no write tool named nope__x. Write tools: ${revoke}\n`);
    expect(await cli.keys()).toHaveLength(0);
  });

  test("a read tool is not a write tool: exit 2", async () => {
    await cli.addUser("ci@example.com");
    const run = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--tools",
      "gatehouse__whoami",
    ]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("no write tool named gatehouse__whoami");
  });

  test("with --read-only: exit 2 before touching anything", async () => {
    const run = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--read-only",
      "--tools",
      revoke,
    ]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^gatehouse: --tools [^\n]*--read-only[^\n]*\n$/);
  });

  test("naming no tool (--tools ,): exit 2", async () => {
    const run = await cli.gatehouse(["key", "create", "--user", "ci@example.com", "--name", "ci", "--tools", ","]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^gatehouse: --tools: [^\n]*\n$/);
  });

  test("an upstream's write tool from GATEHOUSE_CONFIG is checked against the upstream itself", async () => {
    const upstream = startHttpUpstream();
    try {
      await cli.addUser("ci@example.com");
      const config = configFile(`[[upstream]]\nname = "web"\nurl = "${upstream.url}"\n`);
      const run = await cli.gatehouse([
        "key",
        "create",
        "--user",
        "ci@example.com",
        "--name",
        "ci",
        "--tools",
        "web__store",
        "--config",
        config,
      ]);
      expect(run.code).toBe(0);
      expect(JSON.parse((await toolsOf(idOf(run.out.trim())))!)).toEqual(["web__store"]);
      const bad = await cli.gatehouse([
        "key",
        "create",
        "--user",
        "ci@example.com",
        "--name",
        "ci",
        "--tools",
        "web__lookup",
        "--config",
        config,
      ]);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain(`Write tools: ${revoke}, web__store\n`);
    } finally {
      upstream.stop();
    }
  });

  test("a name of an upstream that cannot be reached: exit 1 naming the upstream, no key", async () => {
    await cli.addUser("ci@example.com");
    const config = configFile(`[[upstream]]\nname = "gone"\nurl = "http://127.0.0.1:${freePort()}/mcp"\n`);
    const run = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--tools",
      "gone__write",
      "--config",
      config,
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(
      /^gatehouse: --tools: cannot check gone__write: the upstream gone is not reachable \([^\n]+\)\n$/,
    );
    expect(await cli.keys()).toHaveLength(0);
  });

  test("key list shows each key's write tools", async () => {
    await cli.addUser("ci@example.com");
    await cli.createKey("ci@example.com", "--tools", revoke);
    await cli.createKey("ci@example.com", "--read-only", "--name", "ci-read");
    await cli.createKey("ci@example.com", "--name", "ci-full");
    const run = await cli.gatehouse(["key", "list"]);
    const lines = run.out.trim().split("\n");
    expect(lines[0]).toContain("WRITE TOOLS");
    const cells = lines.slice(1).map((line) => line.split(/\s{2,}/)[4]);
    expect(cells.sort()).toEqual(["all", revoke, "none"].sort());
  });
});

describe("key create --allow", () => {
  const limitsOf = async (id: string) =>
    (
      await cli.rows<{ argument_limits: string | null }>(
        sql`SELECT CAST(argument_limits AS TEXT) AS argument_limits FROM api_keys WHERE id = ${id}`,
      )
    )[0]!.argument_limits;

  test("with --tools: the limits recorded as {tool: {argument: [globs]}}, repeated flags merged", async () => {
    await cli.addUser("ci@example.com");
    const run = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--tools",
      revoke,
      "--allow",
      `${revoke}:kind=api_key`,
      "--allow",
      `${revoke}:id=abc*`,
    ]);
    expect(run).toMatchObject({ code: 0, err: "" });
    expect(JSON.parse((await limitsOf(idOf(run.out.trim())))!)).toEqual({
      [revoke]: { kind: ["api_key"], id: ["abc*"] },
    });
  });

  test("without --tools: an upstream's write tool is checked against the upstream", async () => {
    const upstream = startHttpUpstream();
    try {
      await cli.addUser("ci@example.com");
      const config = configFile(`[[upstream]]\nname = "web"\nurl = "${upstream.url}"\n`);
      const run = await cli.gatehouse([
        "key",
        "create",
        "--user",
        "ci@example.com",
        "--name",
        "ci",
        "--allow",
        "web__store:text=acme/*",
        "--config",
        config,
      ]);
      expect(run.code).toBe(0);
      expect(JSON.parse((await limitsOf(idOf(run.out.trim())))!)).toEqual({ web__store: { text: ["acme/*"] } });
      const bad = await cli.gatehouse([
        "key",
        "create",
        "--user",
        "ci@example.com",
        "--name",
        "ci",
        "--allow",
        "web__lookup:text=x",
        "--config",
        config,
      ]);
      expect(bad.code).toBe(2);
      expect(bad.err).toStartWith("gatehouse: --allow: Gatehouse has no write tool named web__lookup.");
    } finally {
      upstream.stop();
    }
  });

  test("a malformed --allow: exit 2 naming it, no key", async () => {
    await cli.addUser("ci@example.com");
    const run = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--allow",
      `${revoke}=x`,
    ]);
    expect(run).toEqual({
      code: 2,
      out: "",
      err: `gatehouse: --allow: "${revoke}=x" must be tool:argument=pattern, such as github__create_issue:repo=acme/*.\n`,
    });
    expect(await cli.keys()).toHaveLength(0);
  });

  test("a tool outside --tools, or a --read-only key: exit 2", async () => {
    await cli.addUser("ci@example.com");
    const outside = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--tools",
      revoke,
      "--allow",
      "web__store:text=x",
    ]);
    expect(outside.code).toBe(2);
    expect(outside.err).toBe(
      "gatehouse: --allow: web__store is not among --tools; a key is limited only on write tools it may call\n",
    );
    const readOnly = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "ci@example.com",
      "--name",
      "ci",
      "--read-only",
      "--allow",
      `${revoke}:id=x`,
    ]);
    expect(readOnly.code).toBe(2);
    expect(await cli.keys()).toHaveLength(0);
  });

  test("key list shows the limits, and key rotate keeps them", async () => {
    await cli.addUser("ci@example.com");
    const token = await cli.createKey("ci@example.com", "--allow", `${revoke}:id=abc*`);
    const rotated = await cli.gatehouse(["key", "rotate", idOf(token)]);
    expect(JSON.parse((await limitsOf(idOf(rotated.out.trim())))!)).toEqual({ [revoke]: { id: ["abc*"] } });
    const lines = (await cli.gatehouse(["key", "list"])).out.trim().split("\n");
    expect(lines[0]).toEndWith("ARGUMENT LIMITS");
    expect(lines[1]).toEndWith(`${revoke}:id=abc*`);
  });
});
