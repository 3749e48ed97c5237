import type { Config } from "../config.ts";
import type { Store } from "../db/store.ts";
import { loadGatewayConfig } from "../gateway/config.ts";
import { Gateway } from "../gateway/gateway.ts";
import { silentLogger } from "../log.ts";
import { createToolCatalogue } from "../mcp/server.ts";
import { parseLimitLines, toolsOutside, type ArgumentLimits } from "../mcp/argument-gates.ts";
import { checkToolChoice, unknownToolsMessage, writeToolChoices } from "../mcp/tool-permissions.ts";
import { builtinTools } from "../mcp/tools/builtin.ts";
import { now, RuntimeError, UsageError } from "./command.ts";

// `gatehouse key create --tools a,b --allow tool:argument=glob`: the names
// are checked against the write tools /mcp offers, which only the upstreams
// themselves can tell: the CLI connects to each upstream in GATEHOUSE_CONFIG
// as the server does, reads its tools, and disconnects. Only when --tools or
// --allow is given.

/** How long the upstreams get to connect: about what a stdio server needs to start, well under the server's own 30 s. */
const settleMs = 20_000;
const pollMs = 50;
const maxListed = 20;

/**
 * `--allow tool:argument=glob`, once per flag, as argument limits; a usage
 * error for a malformed one, for a --read-only key (it calls no write tool)
 * or for a tool outside `--tools`.
 */
export function parseAllowFlags(
  values: readonly string[],
  readOnly: boolean,
  tools: readonly string[] | null,
): ArgumentLimits | null {
  if (values.length === 0) return null;
  if (readOnly) throw new UsageError("--allow limits the write tools of a Full key; a --read-only key calls none");
  for (const value of values) {
    const one = parseLimitLines([value]);
    if (!one.ok) throw new UsageError(`--allow: ${one.error}`);
  }
  const parsed = parseLimitLines(values);
  if (!parsed.ok) throw new UsageError(`--allow: ${parsed.error}`);
  const outside = tools === null ? [] : toolsOutside(parsed.limits, tools, []);
  if (outside.length > 0)
    throw new UsageError(
      `--allow: ${outside.join(", ")} is not among --tools; a key is limited only on write tools it may call`,
    );
  return parsed.limits;
}

/** `--tools a,b` as names; a usage error when it names none. */
export function parseToolsFlag(value: string): string[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError("--tools: give one or more write tool names, separated by commas");
  return names;
}

/** The upstreams connected or failed (none still starting), or the deadline passed. */
async function settled(gateway: Gateway): Promise<void> {
  const deadline = Date.now() + settleMs;
  while (gateway.statuses().some((s) => s.state === "starting") && Date.now() < deadline) await Bun.sleep(pollMs);
}

/**
 * The chosen names, checked: a name /mcp does not offer as a write tool is a
 * usage error (exit 2) listing the ones it does, unless it belongs to an
 * upstream that could not be reached, which is a runtime error (exit 1):
 * the name may well be right.
 */
export async function checkedWriteTools(
  config: Config,
  env: Record<string, string | undefined>,
  db: Store,
  chosen: string[],
  flag = "--tools",
): Promise<string[]> {
  const gateway =
    config.configFile === null
      ? null
      : new Gateway({
          config: loadGatewayConfig(config.configFile, env),
          log: silentLogger,
          toolTimeoutSeconds: config.toolTimeoutSeconds,
        });
  try {
    gateway?.start();
    if (gateway) await settled(gateway);
    const offered = writeToolChoices(createToolCatalogue(builtinTools({ db, now }), gateway).tools).map((t) => t.name);
    const check = checkToolChoice(chosen, offered);
    if (check.ok) return check.tools;
    for (const upstream of [...(gateway?.upstreams ?? []), ...(gateway?.apis ?? [])]) {
      const name = check.unknown.find((n) => n.startsWith(upstream.config.prefix));
      if (name !== undefined && upstream.state !== "connected") {
        throw new RuntimeError(
          `${flag}: cannot check ${name}: the upstream ${upstream.name} is not reachable (${upstream.reason ?? "still starting"})`,
        );
      }
    }
    const listed =
      offered.slice(0, maxListed).join(", ") +
      (offered.length > maxListed ? ` and ${offered.length - maxListed} more` : "");
    throw new UsageError(`${flag}: ${unknownToolsMessage(check.unknown)} Write tools: ${listed}`);
  } finally {
    await gateway?.stop();
  }
}
