import { expect, test } from "bun:test";
import { useGatehouse, mcpWith } from "./fixture.ts";
import { describeClientFlow, registerByDcr, type ClientProfile } from "./flow.ts";

// ChatGPT by DCR (docs/field-failures.md "Clients as they behave"): a per-connector
// callback and the legacy fixed one, `resource`, and an EMPTY scope, which
// Gatehouse reads as its default scopes. It treats a tool without
// `readOnlyHint: true` as a write, so the annotations must say which is which.

const gate = useGatehouse();

const connectorCallback = "https://chatgpt.com/connector/oauth/OUbdUMlL15Ct";
const legacyCallback = "https://chatgpt.com/connector_platform_oauth_redirect";

// docs/field-failures.md names no token endpoint auth method for ChatGPT's DCR: left
// out here, which Gatehouse registers as a public client (`none`).
const chatgpt: ClientProfile = {
  title: "ChatGPT by DCR, per-connector callback, resource and an empty scope",
  name: "ChatGPT",
  register: (g) =>
    registerByDcr(g, {
      client_name: "ChatGPT",
      redirect_uris: [connectorCallback, legacyCallback],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }),
  redirectUri: connectorCallback,
  sendsResource: true,
  scope: () => "",
};

describeClientFlow(gate, chatgpt, (flow) => {
  test("a registration without token_endpoint_auth_method is a public client, and the answer says so", () => {
    expect(flow.auth).toEqual({ method: "none", clientId: expect.any(String) });
  });

  test("tools/list marks exactly the read tools readOnlyHint: true, so ChatGPT treats only the others as writes", async () => {
    const client = await mcpWith(gate.app, flow.refreshed.access_token);
    try {
      const { tools } = await client.listTools();
      const byHint = (readOnly: boolean) =>
        tools
          .filter((t) => (t.annotations?.readOnlyHint === true) === readOnly)
          .map((t) => t.name)
          .sort();
      expect(byHint(true)).toEqual(["gatehouse__list_connections", "gatehouse__whoami"]);
      expect(byHint(false)).toEqual(["gatehouse__revoke_connection"]);
      expect(tools.every((t) => typeof t.annotations?.readOnlyHint === "boolean")).toBe(true);
    } finally {
      await client.close();
    }
  });
});

describeClientFlow(gate, { ...chatgpt, title: "ChatGPT by DCR, legacy fixed callback", redirectUri: legacyCallback });
