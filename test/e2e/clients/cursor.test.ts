import { expect, test } from "bun:test";
import { findClientById } from "../../../src/oauth/clients-store.ts";
import { useGatehouse } from "./fixture.ts";
import { describeClientFlow, registerByDcr, type ClientProfile } from "./flow.ts";

// Cursor by DCR (docs/field-failures.md "Clients as they behave"): a public client
// (`none`) with its native-app scheme, web and loopback callbacks; it may
// leave `resource` out, and then the token is bound to <public>/mcp.

const gate = useGatehouse();

const registered = [
  "cursor://anysphere.cursor-mcp/oauth/callback",
  "https://www.cursor.com/agents/mcp/oauth/callback",
  "http://localhost:8787/callback",
];

const cursor: ClientProfile = {
  title: "Cursor by DCR, none, its cursor:// callback, no resource",
  name: "Cursor",
  register: (g) =>
    registerByDcr(g, {
      client_name: "Cursor",
      redirect_uris: registered,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
  redirectUri: registered[0]!,
  sendsResource: false,
  scope: (challenged) => challenged,
};

describeClientFlow(gate, cursor, (flow) => {
  test("its three redirect URIs are stored as registered, the native-app scheme included", async () => {
    expect((await findClientById(gate.app.db, flow.auth.clientId))!.redirectUris).toEqual(registered);
  });
});

describeClientFlow(gate, {
  ...cursor,
  title: "Cursor by DCR, its localhost:8787 callback, with resource",
  redirectUri: registered[2]!,
  sendsResource: true,
});
