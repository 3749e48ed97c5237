import { Layout, type Viewer } from "./layout.tsx";
import { CommandSnippet } from "./parts.tsx";

export interface KeyCreatedProps {
  viewer: Viewer;
  csrf: string;
  name: string;
  token: string;
  rotated: boolean;
  /** The MCP endpoint the key is sent to, for the usage snippet. */
  mcpUrl: string;
}

/** The MCP call the snippet makes: whoami, which every key may call and which shows who the key acts as. */
const whoamiCall =
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gatehouse__whoami","arguments":{}}}';

/** The only time a key's secret is ever shown. */
export function KeyCreatedPage({ viewer, csrf, name, token, rotated, mcpUrl }: KeyCreatedProps): string {
  return (
    <Layout title="Your new API key" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{rotated ? `New secret for “${name}”` : `API key “${name}” created`}</h1>
        <p>Copy it now: it will not be shown again.</p>
        <div class="secret">
          <input type="text" id="new-key" value={token} readonly aria-label="API key" />
          <button type="button" data-copy="new-key">
            Copy
          </button>
        </div>
        <p>
          Try it with the key in <code>$GATEHOUSE_API_KEY</code>:
        </p>
        <CommandSnippet
          id="usage"
          commands={[
            [
              `curl -s ${mcpUrl} -H "authorization: Bearer $GATEHOUSE_API_KEY" \\`,
              `  -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\`,
              `  -H 'mcp-protocol-version: 2025-06-18' -d '${whoamiCall}'`,
            ].join("\n"),
          ]}
        />
        <p>
          <a href="/keys">Back to API keys</a>
        </p>
      </section>
    </Layout>
  ) as string;
}
