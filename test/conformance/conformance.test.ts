import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { userWithKey } from "../mcp/fixture.ts";
import { passes, runConformanceSuite, type SuiteRun } from "./run-suite.ts";

// The official MCP conformance suite (@modelcontextprotocol/conformance,
// `server`, every scenario) against Gatehouse's /mcp with a full-access API
// key, Gatehouse forwarding to fixture-upstream.ts (prefix "", so the suite
// sees the tool and prompt names it expects). The lists below are exact: a
// scenario that starts failing, or starts passing, fails this test. The
// README's "Conformance" section gives the same reasons.

const passing = [
  "completion-complete",
  "dns-rebinding-protection",
  "json-schema-2020-12",
  "logging-set-level",
  "ping",
  "prompts-get-embedded-resource",
  "prompts-get-simple",
  "prompts-get-with-args",
  "prompts-get-with-image",
  "prompts-list",
  "resources-list",
  "resources-read-binary",
  "resources-read-text",
  "resources-subscribe",
  "resources-templates-read",
  "resources-unsubscribe",
  "server-initialize",
  "tools-call-audio",
  "tools-call-embedded-resource",
  "tools-call-error",
  "tools-call-image",
  "tools-call-mixed-content",
  "tools-call-simple-text",
  "tools-call-with-logging",
  "tools-call-with-progress",
  "tools-list",
];

const serverToClientRequests =
  "server-to-client requests (sampling, elicitation) are not relayed: 2025 clients are served statelessly, so the answer would arrive in a new POST that no longer holds the call";
const stateless = "2025 clients are served statelessly: no Mcp-Session-Id, no resumable SSE streams (event ids, retry)";

/** Each failing scenario: the checks that fail (FAILURE or WARNING), and why. */
const failing: Record<string, { checks: string[]; reason: string }> = {
  "tools-call-sampling": { checks: ["tools-call-sampling"], reason: serverToClientRequests },
  "tools-call-elicitation": { checks: ["tools-call-elicitation"], reason: serverToClientRequests },
  "elicitation-sep1034-defaults": { checks: ["elicitation-sep1034-general"], reason: serverToClientRequests },
  "elicitation-sep1330-enums": { checks: ["elicitation-sep1330-general"], reason: serverToClientRequests },
  "server-sse-multiple-streams": { checks: ["server-sse-multiple-streams-session"], reason: stateless },
  "server-sse-polling": { checks: ["server-sse-polling-session", "server-sse-priming-event", "server-sse-retry-field"], reason: stateless },
};

const fixture = join(import.meta.dir, "fixture-upstream.ts");
let app: TestApp;
let run: SuiteRun;

beforeAll(async () => {
  const toml = `[[upstream]]\nname = "conformance"\ncommand = "${process.execPath}"\nargs = ["${fixture}"]\nprefix = ""\n`;
  // The suite sends a few hundred requests with one key: above the default rate limit.
  app = await createTestApp({ gateway: parseGatewayConfig("conformance.toml", toml, {}), env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "100000" } });
  const deadline = Date.now() + 15_000;
  while (app.gateway!.statuses()[0]!.state !== "connected") {
    if (Date.now() > deadline) throw new Error(`the fixture upstream did not connect: ${app.gateway!.statuses()[0]!.reason}`);
    await Bun.sleep(20);
  }
  const { token } = await userWithKey(app);
  run = await runConformanceSuite("0.1.16", ["--suite", "all"], `${app.url}/mcp`, token, 120_000);
}, 150_000);
afterAll(() => app.close());

describe("the MCP conformance suite through the gateway", () => {
  test("ran every scenario it knows, and only those listed here", () => {
    expect([...run.scenarios.keys()].sort()).toEqual([...passing, ...Object.keys(failing)].sort());
  });

  test("exactly the listed scenarios pass", () => {
    const passed = [...run.scenarios].filter(([, checks]) => passes(checks)).map(([name]) => name);
    expect(passed.sort()).toEqual(passing);
  });

  test("each failing scenario fails in the listed checks only", () => {
    const failed = Object.fromEntries(
      [...run.scenarios]
        .filter(([, checks]) => !passes(checks))
        .map(([name, checks]) => [name, checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING").map((c) => c.id)]),
    );
    expect(failed).toEqual(Object.fromEntries(Object.entries(failing).map(([name, { checks }]) => [name, checks])));
  });

  test("the checks read back agree with the suite's own summary", () => {
    const summary = [...run.output.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/gm)].map(([, , name, ok, bad]) => [name, Number(ok), Number(bad)]);
    const count = (name: string, status: string) => run.scenarios.get(name)!.filter((c) => c.status === status).length;
    expect(summary.length).toBe(run.scenarios.size);
    expect(summary).toEqual(summary.map(([name]) => [name, count(name as string, "SUCCESS"), count(name as string, "FAILURE")]));
    expect(run.exitCode).toBe(1);
  });
});
