// The MCP Inspector's part in its guided OAuth flow, as a page: served at
// http://localhost:6274 (the Inspector's own origin), its script does every
// request from the browser, cross-origin to Gatehouse, as the Inspector's
// client does: discovery from the /mcp 401, DCR, PKCE, the token endpoint and
// /mcp. A response the browser's CORS check blocks makes fetch throw, and
// headers not exposed read as null, so what the page returns is what CORS let
// through. Tests drive it with `page.evaluate(() => inspector.…)`.

const script = String.raw`
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** One JSON-RPC answer, whether it came as JSON or as an SSE stream. */
async function rpcAnswer(res) {
  const text = await res.text();
  if (!(res.headers.get("content-type") || "").includes("text/event-stream")) return text ? JSON.parse(text) : null;
  return text.split("\n").filter((l) => l.startsWith("data:")).map((l) => JSON.parse(l.slice(5))).pop();
}

async function post(url, body, headers = {}) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: await rpcAnswer(res) };
}

window.inspector = {
  async discover(mcpUrl) {
    const res = await post(mcpUrl, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "inspector", version: "0" } } });
    const challenge = res.headers.get("www-authenticate");
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge || "")?.[1];
    const resource = await (await fetch(metadataUrl)).json();
    const server = await (await fetch(resource.authorization_servers[0] + "/.well-known/oauth-authorization-server")).json();
    return { status: res.status, challenge, resource, server };
  },

  async register(endpoint, redirectUri) {
    const body = { client_name: "MCP Inspector", redirect_uris: [redirectUri], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
    const res = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  },

  /** The authorization URL with a fresh PKCE pair; the verifier waits in sessionStorage for the callback page. */
  async authorizeUrl(endpoint, params) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
    sessionStorage.setItem("verifier", verifier);
    const url = new URL(endpoint);
    const all = { ...params, response_type: "code", code_challenge: challenge, code_challenge_method: "S256" };
    for (const [key, value] of Object.entries(all)) url.searchParams.set(key, value);
    return url.href;
  },

  async token(endpoint, form) {
    const res = await fetch(endpoint, { method: "POST", body: new URLSearchParams(form) });
    return { status: res.status, body: await res.json() };
  },

  verifier: () => sessionStorage.getItem("verifier"),

  /** initialize, then one request, as a 2025-06-18 client talks to a stateless server. */
  async call(mcpUrl, accessToken, method, params) {
    const auth = { authorization: "Bearer " + accessToken };
    const init = await post(mcpUrl, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "inspector", version: "0" } } }, auth);
    const version = { "mcp-protocol-version": init.body.result.protocolVersion };
    await post(mcpUrl, { jsonrpc: "2.0", method: "notifications/initialized" }, { ...auth, ...version });
    const res = await post(mcpUrl, { jsonrpc: "2.0", id: 2, method, params }, { ...auth, ...version });
    return { status: res.status, body: res.body };
  },
};
`;

export const inspectorPage = `<!doctype html><meta charset="utf-8"><title>MCP Inspector</title><script>${script}</script>`;
