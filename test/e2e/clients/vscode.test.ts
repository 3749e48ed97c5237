import { expect, test } from "bun:test";
import { findClientById } from "../../../src/oauth/clients-store.ts";
import { useGatehouse } from "./fixture.ts";
import { describeClientFlow, registerByDcr } from "./flow.ts";

// VS Code by DCR (docs/field-failures.md "Clients as they behave"): four redirect URIs
// registered, then a loopback port of its choosing at authorization, and
// `resource`.

const gate = useGatehouse();

const registered = [
  "https://vscode.dev/redirect",
  "https://insiders.vscode.dev/redirect",
  "http://127.0.0.1/",
  "http://127.0.0.1:33418/",
];
// The port its callback listener got at run time: none of the registered ones.
const redirectUri = "http://127.0.0.1:61734/";

describeClientFlow(
  gate,
  {
    title: "VS Code by DCR with its four redirect URIs, a loopback port at authorization, resource",
    name: "Visual Studio Code",
    register: (g) =>
      registerByDcr(g, {
        client_name: "Visual Studio Code",
        redirect_uris: registered,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      }),
    redirectUri,
    sendsResource: true,
    scope: (challenged) => challenged,
  },
  (flow) => {
    test("all four redirect URIs are stored as registered (the https ones and both loopback forms)", async () => {
      expect((await findClientById(gate.app.db, flow.auth.clientId))!.redirectUris).toEqual(registered);
    });
  },
);
