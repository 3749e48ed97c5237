import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { rmSync } from "node:fs";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { openTestStore } from "../support/store.ts";
import { silentLogger } from "../../src/log.ts";
import { transaction } from "../../src/db/transaction.ts";
import { findClientById, touchClient } from "../../src/oauth/clients-store.ts";
import { changeRedirectUris, purgeUnusedRegistrations, registerManualClient } from "../../src/oauth/registration.ts";
import { createTestApp, freePort, tempDir, type TestApp } from "../helpers.ts";
import { register as registerAt, rowCount as countAt, rowOf as rowAt, uniqueUri } from "./register-fixture.ts";

// Registration policy: deduplication of public clients (field failure 11),
// the per-address limit, persistence across restarts (field failure 6), and
// the expiry of registrations nobody used.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: "true" }, listen: false });
});
afterAll(() => app.close());
afterEach(() => {
  setSystemTime();
});

const register = (body: unknown, opts: Parameters<typeof registerAt>[2] & { base?: string } = {}) =>
  registerAt(opts.base ?? app, body, opts);
const rowOf = (id: unknown) => rowAt(app, id);
const rowCount = () => countAt(app);

describe("deduplication of public registrations (field failure 11)", () => {
  test("the same registration again returns the same client_id with 201", async () => {
    const body = {
      client_name: "Claude Code",
      redirect_uris: [uniqueUri()],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
    };
    const a = await register(body);
    const b = await register(body);
    expect(b.res.status).toBe(201);
    expect(b.json.client_id).toBe(a.json.client_id);
  });

  test("the same registration again adds no row", async () => {
    const body = { client_name: "Reconnecting", redirect_uris: [uniqueUri()] };
    await register(body);
    const before = await rowCount();
    await register(body);
    expect(await rowCount()).toBe(before);
  });

  test("redirect URIs in another order are the same registration", async () => {
    const [u1, u2] = [uniqueUri(), uniqueUri()];
    const a = await register({ client_name: "Order", redirect_uris: [u1, u2] });
    const b = await register({ client_name: "Order", redirect_uris: [u2, u1] });
    expect(b.json.client_id).toBe(a.json.client_id);
  });

  test("a different name is a different client", async () => {
    const uri = uniqueUri();
    const a = await register({ client_name: "One", redirect_uris: [uri] });
    const b = await register({ client_name: "Two", redirect_uris: [uri] });
    expect(b.json.client_id).not.toBe(a.json.client_id);
  });

  test("different redirect URIs are a different client", async () => {
    const a = await register({ client_name: "Same", redirect_uris: [uniqueUri()] });
    const b = await register({ client_name: "Same", redirect_uris: [uniqueUri()] });
    expect(b.json.client_id).not.toBe(a.json.client_id);
  });

  test("different grant types are a different client", async () => {
    const uri = uniqueUri();
    const a = await register({ client_name: "Grants", redirect_uris: [uri], grant_types: ["authorization_code"] });
    const b = await register({
      client_name: "Grants",
      redirect_uris: [uri],
      grant_types: ["authorization_code", "refresh_token"],
    });
    expect(b.json.client_id).not.toBe(a.json.client_id);
  });

  test("a client whose redirect URIs an admin edited is not handed out for the old registration", async () => {
    const body = { client_name: "Edited", redirect_uris: [uniqueUri()] };
    const a = await register(body);
    await changeRedirectUris(app.db, String(a.json.client_id), [uniqueUri()]);
    const b = await register(body);
    expect(b.json.client_id).not.toBe(a.json.client_id);
    expect(b.json.redirect_uris).toEqual(body.redirect_uris);
  });
});

describe("rate limit per client address", () => {
  const start = new Date("2031-05-01T00:00:00Z");

  test("the 31st registration within an hour is 429 too_many_requests with Retry-After and CORS", async () => {
    setSystemTime(start);
    const address = "203.0.113.31";
    for (let i = 0; i < 30; i++)
      expect((await register({ redirect_uris: [uniqueUri()] }, { address })).res.status).toBe(201);
    const { res, json } = await register({ redirect_uris: [uniqueUri()] }, { address });
    expect(res.status).toBe(429);
    expect(json.error).toBe("too_many_requests");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("another address is not limited", async () => {
    setSystemTime(start);
    expect((await register({ redirect_uris: [uniqueUri()] }, { address: "203.0.113.32" })).res.status).toBe(201);
  });

  test("the limited address may register again after the hour", async () => {
    setSystemTime(new Date(start.getTime() + 3600 * 1000));
    expect((await register({ redirect_uris: [uniqueUri()] }, { address: "203.0.113.31" })).res.status).toBe(201);
  });

  test("failed registrations count against the limit", async () => {
    setSystemTime(start);
    const address = "203.0.113.33";
    for (let i = 0; i < 30; i++) await register({ redirect_uris: ["javascript:x"] }, { address });
    expect((await register({ redirect_uris: [uniqueUri()] }, { address })).res.status).toBe(429);
  });
});

describe("persistence (field failure 6)", () => {
  test("a registration survives a restart on the same data directory", async () => {
    const dataDir = tempDir();
    const start = async () => {
      const port = freePort();
      const store = await openTestStore(dataDir);
      const { db } = store;
      const config = loadConfig({
        GATEHOUSE_DATA_DIR: dataDir,
        PORT: String(port),
        GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        ...store.env,
      });
      const server = createApp({
        config,
        db,
        log: silentLogger,
        now: () => Math.floor(Date.now() / 1000),
      });
      server.listen({ port, hostname: "127.0.0.1" });
      return { url: config.publicUrl, db, server, close: store.close };
    };
    try {
      const first = await start();
      const body = { client_name: "Survivor", redirect_uris: ["https://survivor.example/cb"] };
      const a = await register(body, { base: first.url });
      await first.server.stop(true);
      await first.close();

      const second = await start();
      expect((await findClientById(second.db, String(a.json.client_id)))?.name).toBe("Survivor");
      const b = await register(body, { base: second.url });
      expect(b.json.client_id).toBe(a.json.client_id);
      await second.server.stop(true);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("purgeUnusedRegistrations", () => {
  const day = 24 * 3600;

  test("keeps a never-used registration younger than a day", async () => {
    const { json } = await register({ redirect_uris: [uniqueUri()] });
    const createdAt = (await rowOf(json.client_id))!.createdAt;
    await transaction(app.db, (tx) => purgeUnusedRegistrations(tx, createdAt + day - 1));
    expect(await rowOf(json.client_id)).not.toBeNull();
  });

  test("deletes a never-used registration older than a day", async () => {
    const { json } = await register({ redirect_uris: [uniqueUri()] });
    const createdAt = (await rowOf(json.client_id))!.createdAt;
    const removed = await transaction(app.db, (tx) => purgeUnusedRegistrations(tx, createdAt + day + 1));
    expect(removed).toBeGreaterThanOrEqual(1);
    expect(await rowOf(json.client_id)).toBeNull();
  });

  test("keeps a registration that was used", async () => {
    const { json } = await register({ redirect_uris: [uniqueUri()] });
    const createdAt = (await rowOf(json.client_id))!.createdAt;
    await touchClient(app.db, String(json.client_id), createdAt + 60);
    await transaction(app.db, (tx) => purgeUnusedRegistrations(tx, createdAt + 2 * day));
    expect(await rowOf(json.client_id)).not.toBeNull();
  });

  test("keeps manually registered clients", async () => {
    const now = Math.floor(Date.now() / 1000);
    const { client } = await registerManualClient(app.db, {
      name: "Manual",
      redirectUris: [uniqueUri()],
      method: "none",
      ownerUserId: null,
      now,
    });
    await transaction(app.db, (tx) => purgeUnusedRegistrations(tx, now + 30 * day));
    expect(await rowOf(client.id)).not.toBeNull();
  });
});
