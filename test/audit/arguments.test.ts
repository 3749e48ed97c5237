import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { auditArguments, isSecretName, redactArguments, redactionLimits } from "../../src/audit/arguments.ts";
import { loadConfig } from "../../src/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { detailOf, onlyAuditRow } from "./fixture.ts";

describe("redacted arguments", () => {
  test("keep names and shape; values under secret-looking names become [redacted]", () => {
    const args = {
      query: "weather",
      password: "hunter2",
      apiKey: "abc",
      nested: { client_secret: "s", Authorization: "x", count: 3 },
    };
    expect(redactArguments(args)).toEqual({
      query: "weather",
      password: "[redacted]",
      apiKey: "[redacted]",
      nested: { client_secret: "[redacted]", Authorization: "[redacted]", count: 3 },
    });
  });

  test("names are matched by whole words, so max_tokens, keyword and author stay", () => {
    expect(["max_tokens", "keyword", "author", "passenger"].map(isSecretName)).toEqual([false, false, false, false]);
    expect(["access_token", "X-Api-Key", "sessionId", "privateKey", "pin"].map(isSecretName)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  test("credential-looking strings are [redacted] under any name", () => {
    const args = {
      a: "Bearer abcdefghijklmnop",
      b: `gate_key_${"a".repeat(16)}_${"b".repeat(52)}`,
      c: "eyJhbGciOi.eyJzdWIiOi.sig",
      d: "plain text",
    };
    expect(redactArguments(args)).toEqual({ a: "[redacted]", b: "[redacted]", c: "[redacted]", d: "plain text" });
  });

  test("long strings are cut to 200 characters with the count left out", () => {
    expect(redactArguments({ text: "x".repeat(250) })).toEqual({ text: `${"x".repeat(200)}…[+50 chars]` });
  });

  test("long arrays are cut to 20 items", () => {
    const out = redactArguments({ ids: Array.from({ length: 25 }, (_, i) => i) }) as { ids: unknown[] };
    expect(out.ids.length).toBe(21);
    expect(out.ids.at(-1)).toBe("…[+5 items]");
  });

  test("the whole stays near 4 KiB of JSON, marked [truncated]", () => {
    const big = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`field${i}`, "y".repeat(150)]));
    const out = redactArguments(big) as Record<string, unknown>;
    expect(JSON.stringify(out).length).toBeLessThan(redactionLimits.maxTotalChars + 400);
    expect(out["…"]).toBe("[truncated]");
  });

  test("deep nesting is cut", () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 10; i++) deep = { d: deep };
    expect(JSON.stringify(redactArguments(deep))).toContain("[nested]");
  });
});

describe("the three modes", () => {
  test("none keeps nothing, full keeps everything", () => {
    expect(auditArguments("none", { password: "p" })).toBeUndefined();
    expect(auditArguments("full", { password: "p" })).toEqual({ password: "p" });
  });

  test("GATEHOUSE_AUDIT_ARGUMENTS defaults to redacted and refuses other words", () => {
    expect(loadConfig({}).auditArguments).toBe("redacted");
    expect(() => loadConfig({ GATEHOUSE_AUDIT_ARGUMENTS: "some" })).toThrow(
      'GATEHOUSE_AUDIT_ARGUMENTS (--audit-arguments): expected one of none, redacted, full, got "some"',
    );
  });

  test("GATEHOUSE_AUDIT_RETENTION defaults to 90 days", () => {
    expect(loadConfig({}).auditRetentionSeconds).toBe(90 * 86400);
    expect(loadConfig({ GATEHOUSE_AUDIT_RETENTION: "7d" }).auditRetentionSeconds).toBe(7 * 86400);
  });
});

// The same call through /mcp on three apps, one per mode.
const apps: Record<string, TestApp> = {};
beforeAll(async () => {
  for (const mode of ["none", "redacted", "full"])
    apps[mode] = await createTestApp({ env: { GATEHOUSE_AUDIT_ARGUMENTS: mode } });
});
afterAll(async () => {
  for (const app of Object.values(apps)) await app.close();
});

async function recordedArguments(mode: string) {
  const app = apps[mode]!;
  const { user, token } = await userWithKey(app);
  const args = { kind: "api_key", id: "Bearer abcdefghijklmnop" };
  await (await connectClient(app, token)).callTool({ name: "gatehouse__revoke_connection", arguments: args });
  return detailOf(await onlyAuditRow(app, { event: "tool_call", userId: user.id })).arguments;
}

describe("tool call entries per GATEHOUSE_AUDIT_ARGUMENTS", () => {
  test("none: the entry has no arguments", async () => {
    expect(await recordedArguments("none")).toBeUndefined();
  });

  test("redacted: the names stay, the credential-looking value is [redacted]", async () => {
    expect(await recordedArguments("redacted")).toEqual({ kind: "api_key", id: "[redacted]" });
  });

  test("full: the arguments as sent", async () => {
    expect(await recordedArguments("full")).toEqual({ kind: "api_key", id: "Bearer abcdefghijklmnop" });
  });
});
