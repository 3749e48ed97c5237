// Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
// `server` command) against a URL, with an API key, and reads back each
// scenario's checks. Two releases are installed: 0.1.16 as itself and
// 0.2.0-alpha.12 as the npm alias @modelcontextprotocol/conformance-next.
// The suite runs under Bun (it needs fs.globSync, which Node 20 lacks) with
// bearer-preload.ts giving its client the key.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";

const root = join(import.meta.dir, "../..");
export const suiteEntries = {
  "0.1.16": join(root, "node_modules/@modelcontextprotocol/conformance/dist/index.js"),
  "0.2.0-alpha.12": join(root, "node_modules/@modelcontextprotocol/conformance-next/dist/index.js"),
};
const preload = join(import.meta.dir, "bearer-preload.ts");

export interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

export interface SuiteRun {
  /** Each scenario's checks, by scenario name. */
  scenarios: Map<string, Check[]>;
  exitCode: number;
  output: string;
}

/**
 * A scenario passes when none of its checks is a FAILURE or a WARNING: the
 * rule the suite's own --expected-failures baseline applies.
 */
export function passes(checks: Check[]): boolean {
  return checks.every((c) => c.status !== "FAILURE" && c.status !== "WARNING");
}

/**
 * The suite's `server` command with `args` (e.g. `--suite all`: the active
 * scenarios and the pending ones, one after another).
 */
export async function runConformanceSuite(
  version: keyof typeof suiteEntries,
  args: string[],
  url: string,
  apiKey: string,
  timeoutMs: number,
): Promise<SuiteRun> {
  const outputDir = tempDir("gatehouse-conformance-");
  try {
    const child = Bun.spawn(
      [
        process.execPath,
        "--preload",
        preload,
        suiteEntries[version],
        "server",
        "--url",
        url,
        ...args,
        "--output-dir",
        outputDir,
      ],
      {
        cwd: outputDir,
        env: { ...process.env, CONFORMANCE_BEARER: apiKey, CONFORMANCE_ORIGIN: new URL(url).origin, NO_COLOR: "1" },
        stdout: "pipe",
        stderr: "pipe",
        timeout: timeoutMs,
      },
    );
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    // Each scenario writes <output>/server-<scenario>-<timestamp>/checks.json.
    const scenarios = new Map<string, Check[]>();
    for (const dir of readdirSync(outputDir)) {
      const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
      if (match) scenarios.set(match[1]!, JSON.parse(readFileSync(join(outputDir, dir, "checks.json"), "utf8")));
    }
    return { scenarios, exitCode, output: stdout + stderr };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}
