import { TableScroll } from "./parts.tsx";
import { Time } from "./format.tsx";
import { Layout, type Viewer } from "./layout.tsx";

export interface UpstreamRow {
  name: string;
  kind: "stdio" | "http" | "openapi";
  state: "starting" | "connected" | "failed" | "stopped";
  tools: number;
  /** The last error; null when it never failed. */
  reason: string | null;
  /** Tools its last tools/list offered under names that break MCP's tool-name rule (src/gateway/tool-names.ts). */
  refusedTools: string[];
  connectedAt: number | null;
  /** A stdio upstream with several instances: how many of its processes run. */
  instances?: { running: number; configured: number };
}

const stateLabel = { starting: "Starting", connected: "Connected", failed: "Failed", stopped: "Stopped" } as const;
const kindLabel = { stdio: "Local command (stdio)", http: "Streamable HTTP", openapi: "REST API (OpenAPI)" } as const;

/** Its state, and with several instances how many run: "Connected (2 of 3 instances running)". */
function stateText(u: UpstreamRow): string {
  if (!u.instances) return stateLabel[u.state];
  return `${stateLabel[u.state]} (${u.instances.running} of ${u.instances.configured} instances running)`;
}

// Refused names come from the upstream: any length, any characters.
const shownNameLength = 40;
const shownNames = 10;

/** A refused name as admins read it: quoted (JSON, so an empty name or a control character shows), cut when long. */
function shownName(name: string): string {
  if (name.length <= shownNameLength) return JSON.stringify(name);
  return `${JSON.stringify(`${name.slice(0, shownNameLength)}…`)} (${name.length} characters)`;
}

/** One sentence: how many tools were refused, why, and which. */
export function refusedToolsSentence(names: readonly string[]): string {
  const count =
    names.length === 1 ? "1 tool refused: its name breaks" : `${names.length} tools refused: their names break`;
  const listed = names.slice(0, shownNames).map(shownName).join(", ");
  const more = names.length > shownNames ? ` and ${names.length - shownNames} more` : "";
  return `${count} MCP's tool-name rule (1 to 128 characters, prefix included, each a letter, digit, "_", "-" or "."): ${listed}${more}.`;
}

export interface AdminUpstreamsProps {
  viewer: Viewer;
  csrf: string;
  /** The config file they come from, or null when none is set. */
  configFile: string | null;
  upstreams: UpstreamRow[];
  /** The app's clock (unix seconds), for relative times. */
  now: number;
}

/** Settings → Upstreams (MCP servers and REST APIs): each one's state, tool count, last error and refused tools. Read-only: they live in the config file. */
export function AdminUpstreamsPage({ viewer, csrf, configFile, upstreams, now }: AdminUpstreamsProps): string {
  return (
    <Layout title="Upstreams" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>Upstreams</h1>
        <p class="muted">
          {configFile === null ? (
            "No config file is set (GATEHOUSE_CONFIG), so /mcp offers only Gatehouse's own tools."
          ) : (
            <>
              Declared in <code safe>{configFile}</code>: MCP servers, and REST APIs by their OpenAPI document. Their
              tools appear on /mcp while they are connected (a REST API: once its document is read); a failed one is
              retried with growing delays.
            </>
          )}
        </p>
        {upstreams.length === 0 ? (
          <p id="no-upstreams">No upstream servers.</p>
        ) : (
          <TableScroll label="Upstreams">
            <table id="upstreams">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Kind</th>
                  <th>State</th>
                  <th>Tools</th>
                  <th>Connected since</th>
                  <th>Last error</th>
                </tr>
              </thead>
              <tbody>
                {upstreams.map((u) => (
                  <tr data-upstream={u.name} data-state={u.state}>
                    <td safe>{u.name}</td>
                    <td>{kindLabel[u.kind]}</td>
                    <td safe>{stateText(u)}</td>
                    <td safe>{String(u.tools)}</td>
                    <td>{u.state === "connected" ? <Time at={u.connectedAt} now={now} /> : "—"}</td>
                    <td class="reason" safe>
                      {u.reason ?? "—"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        {upstreams
          .filter((u) => u.refusedTools.length > 0)
          .map((u) => (
            <p class="refused-tools" data-refused-by={u.name}>
              <strong safe>{u.name}</strong> — <span safe>{refusedToolsSentence(u.refusedTools)}</span>
            </p>
          ))}
      </section>
    </Layout>
  ) as string;
}
