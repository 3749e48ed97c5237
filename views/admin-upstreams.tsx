import { Time } from "./format.tsx";
import { Layout, type Viewer } from "./layout.tsx";

export interface UpstreamRow {
  name: string;
  kind: "stdio" | "http";
  state: "starting" | "connected" | "failed" | "stopped";
  tools: number;
  /** The last error; null when it never failed. */
  reason: string | null;
  connectedAt: number | null;
}

const stateLabel = { starting: "Starting", connected: "Connected", failed: "Failed", stopped: "Stopped" } as const;
const kindLabel = { stdio: "Local command (stdio)", http: "Streamable HTTP" } as const;

export interface AdminUpstreamsProps {
  viewer: Viewer;
  csrf: string;
  /** The config file they come from, or null when none is set. */
  configFile: string | null;
  upstreams: UpstreamRow[];
}

/** Settings → Upstream MCP servers: each one's state, tool count and last error. Read-only: they live in the config file. */
export function AdminUpstreamsPage({ viewer, csrf, configFile, upstreams }: AdminUpstreamsProps): string {
  return (
    <Layout title="Upstream MCP servers" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>Upstream MCP servers</h1>
        <p class="muted">
          {configFile === null ? (
            "No config file is set (GATEHOUSE_CONFIG), so /mcp offers only Gatehouse's own tools."
          ) : (
            <>
              Declared in <code safe>{configFile}</code>. Their tools appear on /mcp while they are connected; a failed one is retried
              with growing delays.
            </>
          )}
        </p>
        {upstreams.length === 0 ? (
          <p id="no-upstreams">No upstream servers.</p>
        ) : (
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
                  <td>{stateLabel[u.state]}</td>
                  <td safe>{String(u.tools)}</td>
                  <td>{u.state === "connected" ? <Time at={u.connectedAt} /> : "—"}</td>
                  <td class="reason" safe>
                    {u.reason ?? "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  ) as string;
}
