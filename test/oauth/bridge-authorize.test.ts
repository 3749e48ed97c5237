import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { OAuthClient } from "../../src/oauth/clients-store.ts";
import { createTestApp, type Browser, type TestApp } from "../helpers.ts";
import { addUser, browserOf, locationOf, openConsent } from "./authorize-fixture.ts";
import {
  addBridgeClient,
  answerBridgeConsent,
  bridgeAuthorizePath,
  bridgePath,
  bridgeRow,
  bridgeUrlOf,
  poll,
  strongState,
} from "./bridge-fixture.ts";
import { register } from "./register-fixture.ts";

// The polling bridge at the authorization endpoint and on its callback page:
// who may use it, the state rule, and that only Gatehouse writes the entries.

let app: TestApp;
let client: OAuthClient;
let b: Browser;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  client = await addBridgeClient(app);
  b = await browserOf(app, await addUser(app));
});
afterAll(() => app.close());

const pendingCount = async () => {
  const { oauthPendingRequests } = app.db.tables;
  return (await app.db.select().from(oauthPendingRequests)).length;
};

describe("registering the bridge callback", () => {
  test("dynamic registration accepts it as a redirect URI", async () => {
    const { res, json } = await register(app, {
      client_name: "Plugin",
      redirect_uris: [bridgeUrlOf(app)],
      token_endpoint_auth_method: "none",
    });
    expect(res.status).toBe(201);
    expect(json.redirect_uris).toEqual([bridgeUrlOf(app)]);
  });

  test("a client that did not register it gets the redirect_uri error page", async () => {
    const other = await addBridgeClient(app, { redirectUris: ["https://client.example/cb"] });
    const res = await b.get(bridgeAuthorizePath(app, other.id, strongState()));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("redirect_uri");
  });
});

describe("the state for the bridge", () => {
  test("shorter than 32 characters is a 400 page, not a redirect", async () => {
    const before = await pendingCount();
    const res = await b.get(bridgeAuthorizePath(app, client.id, "a".repeat(31)));
    expect([res.status, res.headers.get("location")]).toEqual([400, null]);
    expect(await res.text()).toContain("weak state");
    expect(await pendingCount()).toBe(before);
  });

  test("missing is a 400 page", async () => {
    const res = await b.get(bridgeAuthorizePath(app, client.id, "", { state: null }));
    expect(res.status).toBe(400);
  });

  test("with characters outside the URL-safe set is a 400 page", async () => {
    const res = await b.get(bridgeAuthorizePath(app, client.id, `${strongState()} <x>`));
    expect(res.status).toBe(400);
  });

  test("of 32 characters opens a pending entry for the client", async () => {
    const state = "A".repeat(32);
    await openConsent(b, bridgeAuthorizePath(app, client.id, state));
    expect(await bridgeRow(app, state)).toMatchObject({
      clientId: client.id,
      code: null,
      error: null,
      deliveredAt: null,
    });
  });

  test("the entry holds a SHA-256 of the state, never the state", async () => {
    const state = strongState();
    await openConsent(b, bridgeAuthorizePath(app, client.id, state));
    const { oauthBridgeCodes } = app.db.tables;
    const rows = await app.db.select().from(oauthBridgeCodes);
    expect(rows.some((r) => r.stateHash === state)).toBe(false);
    expect((await bridgeRow(app, state))?.stateHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("reloading the consent page keeps the same pending entry", async () => {
    const state = strongState();
    await openConsent(b, bridgeAuthorizePath(app, client.id, state));
    const reload = await b.get(bridgeAuthorizePath(app, client.id, state));
    expect(reload.status).toBe(200);
  });

  test("already answered is refused with a page", async () => {
    const state = strongState();
    await answerBridgeConsent(app, b, client.id, state);
    const again = await b.get(bridgeAuthorizePath(app, client.id, state));
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("already used");
  });

  test("pending for another client is refused with a page", async () => {
    const state = strongState();
    await openConsent(b, bridgeAuthorizePath(app, client.id, state));
    const other = await addBridgeClient(app);
    const res = await b.get(bridgeAuthorizePath(app, other.id, state));
    expect(res.status).toBe(400);
    expect((await bridgeRow(app, state))?.clientId).toBe(client.id);
  });
});

describe("the answer", () => {
  test("Allow redirects to the bridge callback with code, state and iss", async () => {
    const state = strongState();
    const res = await answerBridgeConsent(app, b, client.id, state);
    const { url, query } = locationOf(res);
    expect(`${url.origin}${url.pathname}`).toBe(bridgeUrlOf(app));
    const code = query.code!;
    expect([code.startsWith("gate_code_"), query.state, query.iss]).toEqual([true, state, app.url]);
    expect((await bridgeRow(app, state))?.code).toBeString();
  });

  test("Deny stores access_denied for the state", async () => {
    const state = strongState();
    await answerBridgeConsent(app, b, client.id, state, "deny");
    expect(await bridgeRow(app, state)).toMatchObject({ code: null, error: "access_denied" });
  });

  test("an invalid request after phase 1 is stored for the poll, with its error code", async () => {
    const state = strongState();
    const res = await b.get(bridgeAuthorizePath(app, client.id, state, { code_challenge_method: "plain" }));
    expect(locationOf(res).query.error).toBe("invalid_request");
    const { json } = await poll(app, { state, client_id: client.id });
    expect(json.error).toBe("invalid_request");
  });
});

describe("the callback page", () => {
  test("after Allow says to return to the app, by name, and never shows the code", async () => {
    const state = strongState();
    const { url, query } = locationOf(await answerBridgeConsent(app, b, client.id, state));
    const res = await b.get(url.pathname + url.search);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain("You can return to the app");
    expect(html).toContain("Figma plugin");
    expect(html).not.toContain(query.code!);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  });

  test("after Deny says access was not given", async () => {
    const state = strongState();
    const { url } = locationOf(await answerBridgeConsent(app, b, client.id, state, "deny"));
    const res = await b.get(url.pathname + url.search);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Access not given");
  });

  test("a forged callback with an unknown state is a 400 page and stores nothing", async () => {
    const state = strongState();
    const res = await b.get(`${bridgePath}?code=gate_code_forged&state=${state}`);
    expect(res.status).toBe(400);
    expect(await bridgeRow(app, state)).toBeNull();
  });

  test("a forged callback for a pending state plants no code", async () => {
    const state = strongState();
    await openConsent(b, bridgeAuthorizePath(app, client.id, state));
    const res = await b.get(`${bridgePath}?code=gate_code_forged&state=${state}&iss=${encodeURIComponent(app.url)}`);
    expect(res.status).toBe(400);
    expect((await bridgeRow(app, state))?.code).toBeNull();
    const { json } = await poll(app, { state, client_id: client.id });
    expect(json.error).toBe("authorization_pending");
  });

  test("without a state is a 400 page", async () => {
    const res = await b.get(bridgePath);
    expect(res.status).toBe(400);
  });
});
