import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { userWithKey } from "../mcp/fixture.ts";
import { startHttpFixture, type HttpFixture } from "./fixture-upstream-http.ts";
import { passes, runConformanceSuite, type SuiteRun, type suiteEntries } from "./run-suite.ts";
import { waitFor } from "../support/wait-for.ts";

// The official MCP conformance suite (@modelcontextprotocol/conformance,
// `server`) against Gatehouse's /mcp with a full-access API key, three runs:
// - 0.1.16, every scenario (2025-era wire), Gatehouse forwarding to
//   fixture-upstream.ts, an SDK v2 server over stdio;
// - 0.2.0-alpha.12 with the scenarios revision 2025-11-25 requires, on its
//   stateful wire, to the same stdio upstream;
// - 0.2.0-alpha.12 with the scenarios revision 2026-07-28 requires (and the
//   ones it runs unscored: pending, extensions), on its stateless wire, to
//   fixture-upstream-http.ts, the same fixture as a 2026-07-28 Streamable
//   HTTP server plus the input-required fixtures (fixture-input-required.ts).
// The upstream has prefix "", so the suite sees the tool and prompt names it
// expects. The lists below are exact: a scenario that starts failing, or
// starts passing, fails this test. docs/conformance.md gives the same
// reasons.

interface Expected {
  passing: string[];
  /** Each failing scenario: the checks that fail (FAILURE or WARNING), and why. */
  failing: Record<string, { checks: string[]; reason: string }>;
}

const serverToClientRequests =
  "server-to-client requests (sampling, elicitation) are not relayed: 2025 clients are served statelessly, so the answer would arrive in a new POST that no longer holds the call";
const stateless = "2025 clients are served statelessly: no Mcp-Session-Id, no resumable SSE streams (event ids, retry)";
const toolErrorsAsResults =
  "the upstream answers -32021 (it sees the calling client's capabilities), but the SDK's McpServer turns an error thrown by a tool handler into an isError result on HTTP 200, so the caller gets a tool error naming the refusal";
const tasksExtension =
  "the tasks extension (io.modelcontextprotocol/tasks, SEP-2663) is optional and Gatehouse does not offer it: it declares no extensions and lists no task tools (slow_compute, greet, failing_job, ...)";

/** The four server-to-client scenarios and the two resumability ones: failing alike in 0.1.16 and in 0.2's 2025-11-25 set. */
const failing2025 = {
  "tools-call-sampling": { checks: ["tools-call-sampling"], reason: serverToClientRequests },
  "tools-call-elicitation": { checks: ["tools-call-elicitation"], reason: serverToClientRequests },
  "elicitation-sep1034-defaults": { checks: ["elicitation-sep1034-general"], reason: serverToClientRequests },
  "elicitation-sep1330-enums": { checks: ["elicitation-sep1330-general"], reason: serverToClientRequests },
  "server-sse-multiple-streams": { checks: ["server-sse-multiple-streams-session"], reason: stateless },
  "server-sse-polling": {
    checks: ["server-sse-polling-session", "server-sse-priming-event", "server-sse-retry-field"],
    reason: stateless,
  },
};

const passingEverywhere = [
  "completion-complete",
  "dns-rebinding-protection",
  "json-schema-2020-12",
  "prompts-get-embedded-resource",
  "prompts-get-simple",
  "prompts-get-with-args",
  "prompts-get-with-image",
  "prompts-list",
  "resources-list",
  "resources-read-binary",
  "resources-read-text",
  "resources-templates-read",
  "tools-call-audio",
  "tools-call-embedded-resource",
  "tools-call-error",
  "tools-call-image",
  "tools-call-mixed-content",
  "tools-call-simple-text",
  "tools-call-with-progress",
  "tools-list",
];
const passing2025 = [
  ...passingEverywhere,
  "logging-set-level",
  "ping",
  "resources-subscribe",
  "resources-unsubscribe",
  "server-initialize",
  "tools-call-with-logging",
];

const suite0116: Expected = { passing: passing2025, failing: failing2025 };

const suite2025: Expected = { passing: [...passing2025, "server-session-lifecycle"], failing: failing2025 };

const suite2026: Expected = {
  passing: [
    ...passingEverywhere,
    "caching",
    "http-custom-header-server-validation",
    "http-header-validation",
    "input-required-result-basic-elicitation",
    "input-required-result-basic-list-roots",
    "input-required-result-basic-sampling",
    "input-required-result-capability-check",
    "input-required-result-ignore-extra-params",
    "input-required-result-missing-input-response",
    "input-required-result-multi-round",
    "input-required-result-multiple-input-requests",
    "input-required-result-non-tool-request",
    "input-required-result-request-state",
    "input-required-result-result-type",
    "input-required-result-tampered-state",
    "input-required-result-unsupported-methods",
    "input-required-result-validate-input",
    "sep-2164-resource-not-found",
    "server-sse-multiple-streams",
    "tasks-status-notifications",
  ],
  failing: {
    "server-stateless": {
      checks: ["sep-2575-server-rejects-undeclared-capability", "sep-2575-missing-capability-http-400"],
      reason: toolErrorsAsResults,
    },
    "tasks-capability-negotiation": {
      checks: [
        "tasks-extension-advertised",
        "sep-2663-tasks-methods-non-declaring",
        "sep-2663-server-rejects-undeclared-client",
        "tasks-per-request-meta-opt-in",
      ],
      reason: tasksExtension,
    },
    "tasks-dispatch-and-envelope": {
      checks: [
        "tasks-server-directed-creation-no-hint",
        "sep-2663-legacy-task-param-ignored",
        "tasks-immediate-result-shortcut",
        "tasks-result-type-complete-on-non-task-responses",
        "sep-2663-durable-create-strong-consistency",
        "sep-2663-tasks-get-invalid-task-id-32602",
      ],
      reason: tasksExtension,
    },
    "tasks-lifecycle": {
      checks: [
        "tasks-sync-tool-call",
        "sep-2663-result-type-task-on-create",
        "sep-2663-tasks-get-status-working",
        "sep-2663-tasks-get-status-completed",
        "sep-2663-tool-error-uses-completed-status",
        "sep-2663-tasks-get-status-failed",
        "sep-2663-cancel-ack-empty-result",
        "tasks-cancel-terminal-idempotent-ack",
      ],
      reason: tasksExtension,
    },
    "tasks-mrtr-composition": { checks: ["sep-2663-mrtr-synchronous-before-task-creation"], reason: tasksExtension },
    "tasks-mrtr-input": {
      checks: [
        "sep-2663-tasks-get-status-input-required",
        "tasks-mrtr-tasks-update-resumes",
        "tasks-mrtr-partial-fulfillment",
      ],
      reason: tasksExtension,
    },
    "tasks-request-headers": {
      checks: [
        "tasks-headers-tolerate-mcp-method-on-tools-call",
        "sep-2663-routing-headers-accepted-on-tasks-get",
        "sep-2663-server-rejects-mismatched-mcp-name-on-tasks-get",
      ],
      reason: tasksExtension,
    },
    "tasks-request-state-removal": { checks: ["tasks-request-state-removal-setup"], reason: tasksExtension },
    "tasks-required-task-error": {
      checks: ["sep-2663-server-returns-missing-capability-when-required"],
      reason: tasksExtension,
    },
    "tasks-wire-fields": {
      checks: ["tasks-wire-field-renames", "tasks-no-early-ttl-expiry", "tasks-no-related-task-meta-on-inlined-result"],
      reason: tasksExtension,
    },
  },
};

const stdioFixture = join(import.meta.dir, "fixture-upstream.ts");
const stdioUpstream = `[[upstream]]\nname = "conformance"\ncommand = "${process.execPath}"\nargs = ["${stdioFixture}"]\nprefix = ""\n`;

/** A test Gatehouse with one upstream (prefix ""), the suite run against its /mcp, and the assertions on the run. */
function describeRun(
  title: string,
  version: keyof typeof suiteEntries,
  args: string[],
  upstream: () => { toml: string; stop(): void },
  expected: Expected,
) {
  describe(title, () => {
    let app: TestApp;
    let run: SuiteRun;
    let fixture: { stop(): void };

    beforeAll(async () => {
      const started = upstream();
      fixture = started;
      // The suite sends a few hundred requests with one key: above the default rate limit.
      app = await createTestApp({
        gateway: parseGatewayConfig("conformance.toml", started.toml, {}),
        env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "100000" },
      });
      const upstreamState = () => app.gateway!.statuses()[0]!;
      await waitFor(
        () => upstreamState().state === "connected",
        15_000,
        () => `the fixture upstream to connect: ${upstreamState().reason}`,
      );
      const { token } = await userWithKey(app);
      run = await runConformanceSuite(version, args, `${app.url}/mcp`, token, 120_000);
    }, 150_000);
    afterAll(async () => {
      await app.close();
      fixture.stop();
    });

    test("ran exactly the scenarios listed here", () => {
      expect([...run.scenarios.keys()].sort()).toEqual([...expected.passing, ...Object.keys(expected.failing)].sort());
    });

    test("exactly the listed scenarios pass", () => {
      const passed = [...run.scenarios].filter(([, checks]) => passes(checks)).map(([name]) => name);
      expect(passed.sort()).toEqual([...expected.passing].sort());
    });

    test("each failing scenario fails in the listed checks only", () => {
      const failed = Object.fromEntries(
        [...run.scenarios]
          .filter(([, checks]) => !passes(checks))
          .map(([name, checks]) => [
            name,
            checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING").map((c) => c.id),
          ]),
      );
      expect(failed).toEqual(
        Object.fromEntries(Object.entries(expected.failing).map(([name, { checks }]) => [name, checks])),
      );
    });

    test("the checks read back agree with the suite's own summary", () => {
      const summary = [...run.output.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/gm)].map(
        ([, , name, ok, bad]) => [name, Number(ok), Number(bad)],
      );
      const count = (name: string, status: string) =>
        run.scenarios.get(name)!.filter((c) => c.status === status).length;
      expect(summary.length).toBe(run.scenarios.size);
      expect(summary).toEqual(
        summary.map(([name]) => [name, count(name as string, "SUCCESS"), count(name as string, "FAILURE")]),
      );
      expect(run.exitCode).toBe(1);
    });
  });
}

const stdio = () => ({ toml: stdioUpstream, stop: () => {} });
const http = () => {
  const fixture: HttpFixture = startHttpFixture();
  return { toml: `[[upstream]]\nname = "conformance"\nurl = "${fixture.url}"\nprefix = ""\n`, stop: fixture.stop };
};

describeRun(
  "the MCP conformance suite 0.1.16 through the gateway (all scenarios)",
  "0.1.16",
  ["--suite", "all"],
  stdio,
  suite0116,
);
describeRun(
  "the MCP conformance suite 0.2.0-alpha.12 through the gateway: what 2025-11-25 requires",
  "0.2.0-alpha.12",
  ["--requirements", "2025-11-25"],
  stdio,
  suite2025,
);
describeRun(
  "the MCP conformance suite 0.2.0-alpha.12 through the gateway to a 2026-07-28 upstream: what 2026-07-28 requires",
  "0.2.0-alpha.12",
  ["--requirements", "2026-07-28"],
  http,
  suite2026,
);
