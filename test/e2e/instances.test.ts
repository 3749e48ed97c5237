import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { postgresMigrations } from "../../src/db/migrations-pg.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { Browser, testPasswordHashCost } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";
import { selectSql } from "../support/sql.ts";
import { onPostgres } from "../support/store.ts";
import { waitFor } from "../support/wait-for.ts";
import { authorizeCode, exchange, password, registerPublic, tokenRequest } from "./field-failures-fixture.ts";
import { type Cluster, withCluster } from "./instances-fixture.ts";

// Issue 16: two real server processes on one PostgreSQL database, behind one
// origin. What one instance does holds on the other at once: a revocation,
// an OAuth flow's steps, rate limits and sign-in throttles, the setup link; instances start together on an
// empty database; and losing one mid-write loses nothing it acknowledged.

const redirectUri = "http://localhost:3000/callback";

/** A new admin with a password, signed in through the instance the cluster routes to now. */
async function signedInAdmin(cluster: Cluster): Promise<{ browser: Browser; userId: string }> {
  const email = `admin-${crypto.randomUUID()}@example.com`;
  const user = await createUser(cluster.db, {
    email,
    password,
    passwordCost: testPasswordHashCost,
    isAdmin: true,
    now: nowSeconds(),
  });
  const browser = new Browser(cluster.url);
  const csrf = Browser.csrfOf(await (await browser.get("/sign-in")).text());
  const res = await browser.post("/sign-in", { csrf, next: "/", email, password });
  expect(res.status).toBe(303);
  return { browser, userId: user.id };
}

/** A tools/call of the built-in whoami tool on /mcp with this bearer credential. */
function whoami(cluster: Cluster, credential: string): Promise<Response> {
  return fetch(`${cluster.url}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${credential}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "gatehouse__whoami", arguments: {} },
    }),
  });
}

/** The status of a whoami call sent through `instance`, checking the answer came from it. */
async function whoamiVia(cluster: Cluster, instance: "a" | "b", credential: string): Promise<number> {
  cluster.route(instance);
  const res = await whoami(cluster, credential);
  expect(res.headers.get("x-served-by")).toBe(instance);
  await res.body?.cancel();
  return res.status;
}

describe.skipIf(!onPostgres)("two instances on one PostgreSQL database", () => {
  /** Signs an admin in on A, gives B a key to cache, revokes it on A's web page; returns the key. */
  async function keyCachedOnBRevokedOnA(cluster: Cluster): Promise<string> {
    cluster.route("a");
    const { browser, userId } = await signedInAdmin(cluster);
    const { apiKey, token } = await createApiKey(cluster.db, {
      userId,
      name: "script",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    // B has checked the key once, so it has it in its credential cache.
    expect(await whoamiVia(cluster, "b", token)).toBe(200);

    cluster.route("a");
    const confirm = await browser.get(`/keys/${apiKey.id}/revoke`);
    expect(confirm.status).toBe(200);
    const revoked = await browser.post(`/keys/${apiKey.id}/revoke`, { csrf: Browser.csrfOf(await confirm.text()) });
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get("x-served-by")).toBe("a");
    return token;
  }

  test("an API key revoked on A's web page gets 401 on B's very next /mcp request", () =>
    withCluster({}, async (cluster) => {
      const token = await keyCachedOnBRevokedOnA(cluster);
      expect(await whoamiVia(cluster, "b", token)).toBe(401);
      expect(await whoamiVia(cluster, "a", token)).toBe(401);
    }));

  // The LISTEN feed trades the per-request read for a notification, which
  // arrives after the commit rather than with it: B refuses the key once it
  // has, and keeps refusing it.
  test("with GATEHOUSE_DATABASE_LISTEN, B refuses a key revoked on A once the notification arrives", () =>
    withCluster({ env: { GATEHOUSE_DATABASE_LISTEN: "true" } }, async (cluster) => {
      const token = await keyCachedOnBRevokedOnA(cluster);
      await waitFor(
        async () => (await whoamiVia(cluster, "b", token)) === 401,
        5_000,
        () => "B to refuse the revoked key",
      );
      expect(await whoamiVia(cluster, "b", token)).toBe(401);
      expect(await whoamiVia(cluster, "a", token)).toBe(401);
    }));

  test("an OAuth flow split across them: authorize on A, token on B, refresh on A, a replay on B revokes the family", () =>
    withCluster({ env: { GATEHOUSE_REFRESH_GRACE: "0" } }, async (cluster) => {
      cluster.route("a");
      const { browser } = await signedInAdmin(cluster);
      const clientId = await registerPublic(cluster.url, "Split client", [redirectUri]);
      const { code, verifier } = await authorizeCode(browser, clientId, redirectUri);
      expect(code).not.toBe("");

      cluster.route("b");
      const first = await exchange(cluster.url, clientId, code, redirectUri, verifier);
      expect(first.res.status).toBe(200);
      expect(first.res.headers.get("x-served-by")).toBe("b");
      const firstRefresh = String(first.json.refresh_token);
      expect(await whoamiVia(cluster, "a", String(first.json.access_token))).toBe(200);

      cluster.route("a");
      const refreshed = await tokenRequest(cluster.url, {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: firstRefresh,
      });
      expect(refreshed.res.status).toBe(200);
      expect(refreshed.res.headers.get("x-served-by")).toBe("a");
      const access = String(refreshed.json.access_token);
      expect(await whoamiVia(cluster, "b", access)).toBe(200);

      // OAuth 2.1 §4.3.1: reuse of a rotated refresh token revokes the whole family.
      cluster.route("b");
      const replay = await tokenRequest(cluster.url, {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: firstRefresh,
      });
      expect(replay.res.status).toBe(400);
      expect(replay.json.error).toBe("invalid_grant");
      expect(replay.res.headers.get("x-served-by")).toBe("b");

      cluster.route("a");
      const successor = await tokenRequest(cluster.url, {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: String(refreshed.json.refresh_token),
      });
      expect(successor.res.status).toBe(400);
      expect(successor.json.error).toBe("invalid_grant");
      expect(await whoamiVia(cluster, "a", access)).toBe(401);
      expect(await whoamiVia(cluster, "b", access)).toBe(401);
    }));

  // With Redis too when the suite has one (.ci/run starts it): GATEHOUSE_REDIS_URL moves the counts there.
  const counterStores: [string, Record<string, string>][] = [["the rate_counters table", {}]];
  if (process.env.GATEHOUSE_TEST_REDIS_URL)
    counterStores.push(["Redis", { GATEHOUSE_REDIS_URL: process.env.GATEHOUSE_TEST_REDIS_URL }]);

  for (const [where, env] of counterStores) {
    test(`the /mcp rate limit counts both instances' requests together (${where})`, () =>
      withCluster({ env: { ...env, GATEHOUSE_RATE_LIMIT_PER_MINUTE: "4" } }, async (cluster) => {
        const user = await createUser(cluster.db, {
          email: `limit-${crypto.randomUUID()}@example.com`,
          password: null,
          isAdmin: false,
          now: nowSeconds(),
        });
        const { token } = await createApiKey(cluster.db, {
          userId: user.id,
          name: "script",
          access: "read",
          expiresInSeconds: null,
          now: nowSeconds(),
        });
        const statuses: number[] = [];
        for (const instance of ["a", "b", "a", "b"] as const) statuses.push(await whoamiVia(cluster, instance, token));
        expect(statuses).toEqual([200, 200, 200, 200]);
        // Each instance has seen two requests; counted apart, both would let a fifth through.
        expect(await whoamiVia(cluster, "a", token)).toBe(429);
        expect(await whoamiVia(cluster, "b", token)).toBe(429);
      }));

    test(`failed sign-ins to one account are counted across both instances (${where})`, () =>
      withCluster({ env }, async (cluster) => {
        const email = `throttled-${crypto.randomUUID()}@example.com`;
        await createUser(cluster.db, {
          email,
          password,
          passwordCost: testPasswordHashCost,
          isAdmin: false,
          now: nowSeconds(),
        });
        const signIn = async (instance: "a" | "b", tried: string) => {
          cluster.route(instance);
          const browser = new Browser(cluster.url);
          const csrf = Browser.csrfOf(await (await browser.get("/sign-in")).text());
          const res = await browser.post("/sign-in", { csrf, next: "/", email, password: tried });
          expect(res.headers.get("x-served-by")).toBe(instance);
          await res.body?.cancel();
          return res.status;
        };
        const failures: number[] = [];
        for (const instance of ["a", "b", "a", "b", "a"] as const)
          failures.push(await signIn(instance, "wrong password"));
        expect(failures).toEqual([401, 401, 401, 401, 401]);
        // The account's five failures are shared: even the right password waits, on either instance.
        expect(await signIn("b", password)).toBe(429);
        expect(await signIn("a", password)).toBe(429);
      }));
  }

  test("the setup link A logged works on B, and creating the admin there ends B's own link too", () =>
    withCluster({}, async (cluster) => {
      const linkOf = async (instance: typeof cluster.a) =>
        new URL(String((await instance.logLine("no admin yet: open the setup link to create one")).setup_url));
      const fromA = await linkOf(cluster.a);
      const fromB = await linkOf(cluster.b);
      expect(fromA.origin).toBe(cluster.url);
      expect(fromA.href).not.toBe(fromB.href);

      cluster.route("b");
      const browser = new Browser(cluster.url);
      const page = await browser.get(fromA.pathname + fromA.search);
      expect(page.status).toBe(200);
      expect(page.headers.get("x-served-by")).toBe("b");
      const made = await browser.post("/setup", {
        csrf: Browser.csrfOf(await page.text()),
        token: fromA.searchParams.get("token")!,
        email: "root@example.com",
        password,
      });
      expect(made.status).toBe(303);
      expect(made.headers.get("x-served-by")).toBe("b");

      const { users, setupTokens } = cluster.db.tables;
      expect((await cluster.db.select().from(users)).map((u) => [u.email, u.isAdmin])).toEqual([
        ["root@example.com", true],
      ]);
      expect(await cluster.db.select().from(setupTokens)).toEqual([]);
      cluster.route("a");
      expect((await new Browser(cluster.url).get(fromB.pathname + fromB.search)).status).toBe(404);
    }));

  test("started at once on an empty database, both migrate it under the lock and come up", () =>
    withCluster({ emptyDatabase: true }, async (cluster) => {
      expect(await cluster.a.readyz()).toBe(200);
      expect(await cluster.b.readyz()).toBe(200);
      const applied = await selectSql<{ hash: string }>(cluster.db, sql`SELECT hash FROM drizzle.__drizzle_migrations`);
      expect(applied).toHaveLength(postgresMigrations.length);
      expect(await cluster.db.select().from(cluster.db.tables.authEpoch)).toHaveLength(1);
    }));

  test("kill -9 of A during a write burst: every acknowledged write is stored, and B keeps serving", () =>
    withCluster({}, async (cluster) => {
      cluster.route("a");
      const { browser, userId } = await signedInAdmin(cluster);
      const csrf = Browser.csrfOf(await (await browser.get("/keys")).text());
      cluster.route("both");

      const acknowledged: { name: string; by: string; afterKill: boolean }[] = [];
      let next = 0;
      let stopAt = Number.POSITIVE_INFINITY;
      let killed = false;
      const worker = async () => {
        while (next < stopAt) {
          const name = `burst-${next++}`;
          const res = await browser.post("/keys", { csrf, name, access: "read", expires_in: "never" });
          const html = await res.text();
          // 2xx with the key on the page is an acknowledgement; a 502 (A gone) is not.
          if (res.status === 200 && html.includes("gate_key_"))
            acknowledged.push({ name, by: res.headers.get("x-served-by")!, afterKill: killed });
        }
      };
      const burst = Promise.all(Array.from({ length: 8 }, worker));
      await waitFor(
        () => acknowledged.filter((a) => a.by === "a").length >= 10,
        30_000,
        () => "A to acknowledge 10 key creations",
      );
      await cluster.a.kill();
      killed = true;
      stopAt = next + 40;
      await burst;

      expect(acknowledged.filter((a) => a.by === "b" && a.afterKill).length).toBeGreaterThan(0);
      const { apiKeys } = cluster.db.tables;
      const stored = new Set(
        (await cluster.db.select({ name: apiKeys.name, userId: apiKeys.userId }).from(apiKeys))
          .filter((k) => k.userId === userId)
          .map((k) => k.name),
      );
      expect(acknowledged.filter((a) => !stored.has(a.name))).toEqual([]);

      expect(await cluster.b.readyz()).toBe(200);
      const { token } = await createApiKey(cluster.db, {
        userId,
        name: "after the kill",
        access: "read",
        expiresInSeconds: null,
        now: nowSeconds(),
      });
      expect(await whoamiVia(cluster, "b", token)).toBe(200);
    }));
});
