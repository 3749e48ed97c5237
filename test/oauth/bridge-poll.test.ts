import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createDecipheriv } from "node:crypto";
import { decodeBase64urlIgnorePadding, decodeHex } from "@oslojs/encoding";
import { and, eq } from "drizzle-orm";
import { openBridgeCode } from "../../src/oauth/bridge-code.ts";
import { bridgeStateHash } from "../../src/oauth/bridge.ts";
import type { OAuthClient } from "../../src/oauth/clients-store.ts";
import { purgeExpiredOAuth } from "../../src/oauth/purge.ts";
import { createTestApp, type Browser, type TestApp } from "../helpers.ts";
import { addClient, addUser, browserOf, locationOf, nowSeconds, openConsent } from "./authorize-fixture.ts";
import {
  addBridgeClient,
  answerBridgeConsent,
  bridgeAuthorizePath,
  bridgeRow,
  bridgeUrlOf,
  poll,
  pollByGet,
  strongState,
} from "./bridge-fixture.ts";
import { verifier } from "./token-fixture.ts";
import { waitFor } from "../support/wait-for.ts";

// POST /oauth/bridge/poll: each answer in RFC 8628 §3.5's vocabulary,
// one-time delivery, the 5-second interval, expiry, and CORS. The app's
// clock is a variable here, so expiry and intervals need no waiting.

let clock = nowSeconds();
let app: TestApp;
let client: OAuthClient;
let b: Browser;
beforeAll(async () => {
  app = await createTestApp({ now: () => clock, listen: false });
  client = await addBridgeClient(app);
  b = await browserOf(app, await addUser(app));
});
afterAll(() => app.close());

/** A state whose consent page is open, not yet answered. */
async function pendingState(): Promise<string> {
  const state = strongState();
  await openConsent(b, bridgeAuthorizePath(app, client.id, state));
  return state;
}

/** A state the person allowed; returns the code the redirect carried too. */
async function allowedState(): Promise<{ state: string; code: string }> {
  const state = strongState();
  const res = await answerBridgeConsent(app, b, client.id, state);
  return { state, code: locationOf(res).query.code! };
}

describe("a poll", () => {
  test("before the person answers is 400 authorization_pending", async () => {
    const { res, json } = await poll(app, { state: await pendingState(), client_id: client.id });
    expect([res.status, json.error]).toEqual([400, "authorization_pending"]);
  });

  test("after Allow is 200 with code, state and iss", async () => {
    const { state, code } = await allowedState();
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect(res.status).toBe(200);
    expect(json).toEqual({ code, state, iss: app.url });
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("hands the code out once: the second poll is invalid_grant", async () => {
    const { state } = await allowedState();
    await poll(app, { state, client_id: client.id });
    clock += 5;
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect([res.status, json.error, json.code]).toEqual([400, "invalid_grant", undefined]);
  });

  test("clears the code from the table once delivered", async () => {
    const { state } = await allowedState();
    await poll(app, { state, client_id: client.id });
    expect(await bridgeRow(app, state)).toMatchObject({ code: null, deliveredAt: clock });
  });

  test("after Deny is 400 access_denied", async () => {
    const state = strongState();
    await answerBridgeConsent(app, b, client.id, state, "deny");
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect([res.status, json.error]).toEqual([400, "access_denied"]);
  });

  test("before the browser reaches the authorization endpoint is authorization_pending, and opens the entry", async () => {
    const state = strongState();
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect([res.status, json.error]).toEqual([400, "authorization_pending"]);
    expect(await bridgeRow(app, state)).toMatchObject({ clientId: client.id, code: null, expiresAt: clock + 600 });
  });

  test("opened early, the entry is answered by the consent that follows", async () => {
    const state = strongState();
    await poll(app, { state, client_id: client.id });
    const code = locationOf(await answerBridgeConsent(app, b, client.id, state)).query.code!;
    clock += 5;
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect([res.status, json.code]).toEqual([200, code]);
  });

  test("from an unknown client is 401 invalid_client and opens nothing", async () => {
    const state = strongState();
    const { res, json } = await poll(app, { state, client_id: "nobody" });
    expect([res.status, json.error, await bridgeRow(app, state)]).toEqual([401, "invalid_client", null]);
  });

  test("from a client that did not register the bridge callback is unauthorized_client", async () => {
    const state = strongState();
    const other = await addClient(app, { redirectUris: ["https://app.example/cb"] });
    const { res, json } = await poll(app, { state, client_id: other.id });
    expect([res.status, json.error, await bridgeRow(app, state)]).toEqual([400, "unauthorized_client", null]);
  });

  test("with a weak state is invalid_request and opens nothing", async () => {
    const { res, json } = await poll(app, { state: "short", client_id: client.id });
    expect([res.status, json.error]).toEqual([400, "invalid_request"]);
  });

  test("by another client is expired_token and leaves the code in place", async () => {
    const { state, code } = await allowedState();
    const other = await addBridgeClient(app);
    const { json } = await poll(app, { state, client_id: other.id });
    expect(json.error).toBe("expired_token");
    clock += 5;
    expect((await poll(app, { state, client_id: client.id })).json.code).toBe(code);
  });

  test("records bridge_code_delivered in the audit log", async () => {
    const { state } = await allowedState();
    await poll(app, { state, client_id: client.id });
    await app.audit.drain();
    const { auditEvents } = app.db.tables;
    const rows = await app.db
      .select({ outcome: auditEvents.outcome })
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "bridge_code_delivered"), eq(auditEvents.clientId, client.id)));
    expect(rows.length).toBeGreaterThan(0);
  });
});

describe("the interval", () => {
  test("a second poll within 5 seconds is slow_down", async () => {
    const state = await pendingState();
    await poll(app, { state, client_id: client.id });
    clock += 4;
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect([res.status, json.error]).toEqual([400, "slow_down"]);
  });

  test("a poll 5 seconds after the last is answered normally", async () => {
    const state = await pendingState();
    await poll(app, { state, client_id: client.id });
    clock += 5;
    const { json } = await poll(app, { state, client_id: client.id });
    expect(json.error).toBe("authorization_pending");
  });

  test("is counted per state", async () => {
    const first = await pendingState();
    const second = await pendingState();
    await poll(app, { state: first, client_id: client.id });
    const { json } = await poll(app, { state: second, client_id: client.id });
    expect(json.error).toBe("authorization_pending");
  });
});

describe("expiry", () => {
  test("an unanswered entry expires with the consent request: expired_token", async () => {
    const state = await pendingState();
    clock += 600;
    const { json } = await poll(app, { state, client_id: client.id });
    expect(json.error).toBe("expired_token");
  });

  test("an answered entry expires with its code: expired_token", async () => {
    const { state } = await allowedState();
    clock += app.config.authCodeTtlSeconds;
    const { json } = await poll(app, { state, client_id: client.id });
    expect(json.error).toBe("expired_token");
  });

  test("one second before the code expires it is still delivered", async () => {
    const { state } = await allowedState();
    clock += app.config.authCodeTtlSeconds - 1;
    const { res } = await poll(app, { state, client_id: client.id });
    expect(res.status).toBe(200);
  });

  test("the purge deletes expired entries and keeps live ones", async () => {
    const expired = (await allowedState()).state;
    clock += app.config.authCodeTtlSeconds;
    const live = (await allowedState()).state;
    await purgeExpiredOAuth(app.db, clock);
    expect([await bridgeRow(app, expired), (await bridgeRow(app, live)) !== null]).toEqual([null, true]);
  });
});

describe("the code at rest (sealed with a key derived from the state)", () => {
  /** Replaces the stored code of a state's entry, as someone writing to the database would. */
  const storeCode = async (state: string, code: string) => {
    const { oauthBridgeCodes } = app.db.tables;
    await app.db
      .update(oauthBridgeCodes)
      .set({ code })
      .where(eq(oauthBridgeCodes.stateHash, bridgeStateHash(state)));
  };

  test("after consent the row holds no gate_code_ text and not the code's secret", async () => {
    const { state, code } = await allowedState();
    const row = JSON.stringify(await bridgeRow(app, state));
    expect(row).not.toContain("gate_code_");
    expect(row).not.toContain(code.slice(-52));
    expect(row).not.toContain(state);
  });

  test("the stored code opens with the state, and with nothing the database holds", async () => {
    const { state, code } = await allowedState();
    const row = (await bridgeRow(app, state))!;
    expect(openBridgeCode({ state, clientId: client.id, stored: row.code! })).toBe(code);
    expect(openBridgeCode({ state: row.stateHash, clientId: client.id, stored: row.code! })).toBeNull();
    expect(openBridgeCode({ state: strongState(), clientId: client.id, stored: row.code! })).toBeNull();
  });

  test("the SHA-256 of the state stored beside it is not the key", async () => {
    const { state } = await allowedState();
    const row = (await bridgeRow(app, state))!;
    const [nonce, sealed] = row
      .code!.split(".")
      .slice(1)
      .map((p) => decodeBase64urlIgnorePadding(p));
    const decipher = createDecipheriv("aes-256-gcm", decodeHex(row.stateHash), nonce!, { authTagLength: 16 });
    decipher.setAAD(new TextEncoder().encode(client.id));
    decipher.setAuthTag(sealed!.subarray(sealed!.length - 16));
    decipher.update(sealed!.subarray(0, sealed!.length - 16));
    expect(() => decipher.final()).toThrow();
  });

  test("two entries sealing codes get different nonces", async () => {
    const a = (await bridgeRow(app, (await allowedState()).state))!.code!;
    const b2 = (await bridgeRow(app, (await allowedState()).state))!.code!;
    expect(a.split(".")[1]).not.toBe(b2.split(".")[1]);
  });

  test("the poll with the state delivers the code once", async () => {
    const { state, code } = await allowedState();
    const first = await poll(app, { state, client_id: client.id });
    expect([first.res.status, first.json.code]).toEqual([200, code]);
    clock += 5;
    const second = await poll(app, { state, client_id: client.id });
    expect([second.res.status, second.json.error]).toEqual([400, "invalid_grant"]);
  });

  const tamperings: [string, (stored: string) => string][] = [
    ["a flipped ciphertext character", (s) => s.slice(0, -3) + (s.at(-3) === "A" ? "B" : "A") + s.slice(-2)],
    ["a flipped nonce character", (s) => s.replace(/^v1\.(.)/, (_m, c: string) => `v1.${c === "A" ? "B" : "A"}`)],
    ["a cut tag", (s) => s.slice(0, -4)],
    ["no ciphertext", (s) => `${s.split(".").slice(0, 2).join(".")}.`],
    ["not base64url", (s) => `${s.slice(0, -1)}*`],
    ["an unknown version", (s) => s.replace(/^v1\./, "v9.")],
  ];
  test.each(tamperings)("%s answers expired_token like an expired entry, not a 500", async (_what, tamper) => {
    const { state } = await allowedState();
    await storeCode(state, tamper((await bridgeRow(app, state))!.code!));
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect([res.status, json.error, json.code]).toEqual([400, "expired_token", undefined]);
  });

  test("a code stored in plaintext by the previous version answers expired_token and is not handed out", async () => {
    const { state, code } = await allowedState();
    await storeCode(state, code);
    const { res, json } = await poll(app, { state, client_id: client.id });
    expect([res.status, json.error, json.code]).toEqual([400, "expired_token", undefined]);
  });

  test("a sealed code moved to another client's entry does not open there", async () => {
    const { state } = await allowedState();
    const other = await addBridgeClient(app);
    const { oauthBridgeCodes } = app.db.tables;
    await app.db
      .update(oauthBridgeCodes)
      .set({ clientId: other.id })
      .where(eq(oauthBridgeCodes.stateHash, bridgeStateHash(state)));
    const { json } = await poll(app, { state, client_id: other.id });
    expect(json.error).toBe("expired_token");
  });
});

describe("the code from a poll", () => {
  test("exchanges at the token endpoint with the PKCE verifier and the bridge redirect URI", async () => {
    const { state } = await allowedState();
    const { json } = await poll(app, { state, client_id: client.id });
    const res = await app.request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: json.code!,
        redirect_uri: bridgeUrlOf(app),
        code_verifier: verifier,
        client_id: client.id,
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { token_type: string }).token_type).toBe("Bearer");
  });
});

describe("bad input", () => {
  test("without state is invalid_request", async () => {
    const { res, json } = await poll(app, { client_id: client.id });
    expect([res.status, json.error]).toEqual([400, "invalid_request"]);
  });

  test("without client_id is invalid_request", async () => {
    const { json } = await poll(app, { state: strongState() });
    expect(json.error).toBe("invalid_request");
  });

  test("a repeated state is invalid_request", async () => {
    const res = await app.request("/oauth/bridge/poll", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `state=a&state=b&client_id=${client.id}`,
    });
    expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
  });

  test("a text/plain body is invalid_request, not a 500", async () => {
    const res = await app.request("/oauth/bridge/poll", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "state=x",
    });
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, "invalid_request"]);
  });

  test("a JSON body is accepted, as at the token endpoint", async () => {
    const state = await pendingState();
    const res = await app.request("/oauth/bridge/poll", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ state, client_id: client.id }),
    });
    expect(((await res.json()) as { error: string }).error).toBe("authorization_pending");
  });
});

describe("a poll by GET (?state=…&client_id=…)", () => {
  const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

  test("after Allow is 200 with code, state and iss, not to be cached", async () => {
    const { state, code } = await allowedState();
    const { res, json } = await pollByGet(app, query({ state, client_id: client.id }));
    expect([res.status, res.headers.get("cache-control")]).toEqual([200, "no-store"]);
    expect(json).toEqual({ code, state, iss: app.url });
  });

  test("before the person answers is 400 authorization_pending, like the POST", async () => {
    const { res, json } = await pollByGet(app, query({ state: await pendingState(), client_id: client.id }));
    expect([res.status, json.error, res.headers.get("cache-control")]).toEqual([
      400,
      "authorization_pending",
      "no-store",
    ]);
  });

  test("shares the interval with the POST: a GET 4 seconds after a POST is slow_down", async () => {
    const state = await pendingState();
    await poll(app, { state, client_id: client.id });
    clock += 4;
    expect((await pollByGet(app, query({ state, client_id: client.id }))).json.error).toBe("slow_down");
  });

  test("shares the one-time delivery with the POST: a GET after the POST delivered is invalid_grant", async () => {
    const { state } = await allowedState();
    await poll(app, { state, client_id: client.id });
    clock += 5;
    const { res, json } = await pollByGet(app, query({ state, client_id: client.id }));
    expect([res.status, json.error, json.code]).toEqual([400, "invalid_grant", undefined]);
  });

  test("without client_id is invalid_request", async () => {
    const { res, json } = await pollByGet(app, query({ state: strongState() }));
    expect([res.status, json.error]).toEqual([400, "invalid_request"]);
  });

  test("a repeated state is invalid_request", async () => {
    const { res, json } = await pollByGet(app, `state=a&state=b&client_id=${client.id}`);
    expect([res.status, json.error]).toEqual([400, "invalid_request"]);
  });

  test("carries Access-Control-Allow-Origin: *", async () => {
    const { res } = await pollByGet(app, query({ state: strongState(), client_id: client.id }), { origin: "null" });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("the state in the query never reaches the log; the request line has the path alone", async () => {
    const { state } = await allowedState();
    const { res } = await pollByGet(app, query({ state, client_id: client.id }), { "x-request-id": "bridge-get-log" });
    expect(res.status).toBe(200);
    const find = () => app.logs.filter((l) => l.msg === "request" && l.request_id === "bridge-get-log");
    // The request line is written after the response is sent.
    await waitFor(() => find().length > 0);
    expect(find().map((l) => l.path)).toEqual(["/oauth/bridge/poll"]);
    expect(JSON.stringify(app.logs)).not.toContain(state);
  });
});

describe("CORS, for plugins in an iframe (Origin: null)", () => {
  test("the preflight allows POST from any origin", async () => {
    const res = await app.request("/oauth/bridge/poll", {
      method: "OPTIONS",
      headers: { origin: "null", "access-control-request-method": "POST" },
    });
    expect([res.status, res.headers.get("access-control-allow-origin")]).toEqual([204, "*"]);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  });

  test("answers, errors included, carry Access-Control-Allow-Origin: * and no credentials", async () => {
    const { res } = await poll(app, { state: strongState(), client_id: client.id }, { origin: "null" });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });
});
