// The store contract (issue 15, after lucia's adapter tests): the behaviours
// every storage backend must keep, written against the app's HTTP surface and
// its service functions, never against the Store type, so the suite outlives
// the store's conversion and runs unchanged on each backend. Today
// store-contract-sqlite.test.ts runs it on SQLite with createTestApp; the
// PostgreSQL step (issue 16) adds a file that calls
// `storeContract("postgres", makeApp)` with a factory making the same TestApp
// on a fresh Postgres database (honouring createTestApp's options: env,
// setupToken), and changes nothing here but, if need be, the few row reads at
// the top (`rows`).
//
// Every service and store call is awaited although it is synchronous on
// SQLite today (awaiting a plain value is harmless), so nothing here changes
// when they return promises. Where concurrency matters the requests go over
// real sockets: calls made in-process on one event-loop turn cannot
// interleave, requests served by the server can. Each test makes its own app,
// so no test depends on another or on their order.
import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { and, eq, isNull } from "drizzle-orm";
import { createInvitation, invitationUrl } from "../../src/accounts/invitations.ts";
import {
  createServiceAccount,
  deleteServiceAccount,
  newServiceAccountSecret,
} from "../../src/accounts/service-accounts.ts";
import { AccountError, createUser, disableAccount, setAdmin } from "../../src/accounts/users.ts";
import {
  countAuditEvents,
  insertAuditEvents,
  listAuditEvents,
  type NewAuditEvent,
} from "../../src/audit/audit-store.ts";
import { ApiKeyError, createApiKey, revokeApiKey, rotateApiKey } from "../../src/keys/api-keys.ts";
import { readAuthEpoch } from "../../src/db/auth-epoch.ts";
import { rateLimitedCode } from "../../src/mcp/rate-limit.ts";
import { approveAuthorization } from "../../src/oauth/authorizations.ts";
import { secretVersionOf } from "../../src/oauth/client-secrets.ts";
import { secretMatches } from "../../src/security/tokens.ts";
import { changeClient, clientById, findClientById, markClientUsed } from "../../src/oauth/clients-store.ts";
import { transaction } from "../../src/db/transaction.ts";
import { revokeConnection } from "../../src/oauth/connections.ts";
import type { OAuthError } from "../../src/oauth/errors.ts";
import { refreshTokenGrant } from "../../src/oauth/grants/refresh-token.ts";
import { revokePresentedToken } from "../../src/oauth/tokens.ts";
import { silentLogger } from "../../src/log.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { Browser, type createTestApp, type TestApp } from "../helpers.ts";
import { rpc } from "../mcp/fixture.ts";
import { answer, poll, startDeviceFlow } from "../oauth/device-fixture.ts";
import { challenge, postForm, redirectUri, refreshRequest, type TokenBody, verifier } from "../oauth/token-fixture.ts";
import { advanceClock, nowSeconds } from "../support/clock.ts";
import { makeClient, makeConnection, makeKey, makeUser } from "../support/factories.ts";
import { answerBridge } from "../../src/oauth/bridge.ts";
import { deleteClientInScope } from "../../src/oauth/client-owners.ts";
import { renewClientSecret } from "../../src/oauth/registration.ts";
import { addBridgeClient, bridgeAuthorizePath, poll as bridgePoll, strongState } from "../oauth/bridge-fixture.ts";
import { authorizePath, browserOf, locationOf, openConsent } from "../oauth/authorize-fixture.ts";
import { register } from "../oauth/register-fixture.ts";

type MakeApp = (opts?: Parameters<typeof createTestApp>[0]) => Promise<TestApp>;

/** How many requests race for each single-use credential. */
const racers = 20;
const password = "correct horse battery staple";

/** The rows the contract checks, read through Drizzle's awaitable builders (the form both dialects share). */
const rows = {
  tokensOf: (app: TestApp, grantId: string) => {
    const { oauthTokens } = app.db.tables;
    return app.db.select().from(oauthTokens).where(eq(oauthTokens.grantId, grantId));
  },
  grant: async (app: TestApp, grantId: string) => {
    const { oauthGrants } = app.db.tables;
    return (await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, grantId)))[0]!;
  },
  token: async (app: TestApp, id: string) => {
    const { oauthTokens } = app.db.tables;
    return (await app.db.select().from(oauthTokens).where(eq(oauthTokens.id, id)))[0]!;
  },
  usersWithEmail: (app: TestApp, email: string) => {
    const { users } = app.db.tables;
    return app.db.select().from(users).where(eq(users.email, email));
  },
  activeAdmins: (app: TestApp) => {
    const { users } = app.db.tables;
    return app.db
      .select()
      .from(users)
      .where(and(eq(users.isAdmin, true), isNull(users.disabledAt)));
  },
  serviceClients: (app: TestApp) => {
    const { oauthClients } = app.db.tables;
    return app.db.select().from(oauthClients).where(eq(oauthClients.kind, "service"));
  },
  invitation: async (app: TestApp, id: string) => {
    const { invitations } = app.db.tables;
    return (await app.db.select().from(invitations).where(eq(invitations.id, id)))[0]!;
  },
  apiKey: async (app: TestApp, id: string) => {
    const { apiKeys } = app.db.tables;
    return (await app.db.select().from(apiKeys).where(eq(apiKeys.id, id)))[0]!;
  },
  liveKeysOf: (app: TestApp, userId: string) => {
    const { apiKeys } = app.db.tables;
    return app.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)));
  },
  grantsOfClient: (app: TestApp, clientId: string) => {
    const { oauthGrants } = app.db.tables;
    return app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId));
  },
  deviceCode: async (app: TestApp, id: string) => {
    const { oauthDeviceCodes } = app.db.tables;
    return (await app.db.select().from(oauthDeviceCodes).where(eq(oauthDeviceCodes.id, id)))[0]!;
  },
  liveGrantsOfKey: (app: TestApp, apiKeyId: string) => {
    const { oauthGrants } = app.db.tables;
    return app.db
      .select()
      .from(oauthGrants)
      .where(and(eq(oauthGrants.apiKeyId, apiKeyId), isNull(oauthGrants.revokedAt)));
  },
};

/** The id part of a `gate_xx_<id>_<secret>` credential. */
const idOf = (token: string) => token.split("_")[2]!;

/** Fires `n` copies of a request at once; the answers' statuses and bodies, in order. */
async function race(n: number, send: () => Promise<Response>) {
  const answers = await Promise.all(Array.from({ length: n }, send));
  return Promise.all(answers.map(async (res) => ({ res, status: res.status, text: await res.text() })));
}

const errorOf = (text: string) => (JSON.parse(text) as { error?: string }).error;

/** How many answers had each status. */
function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/** The status /mcp answers a tools/list with this bearer token. */
async function mcpStatus(app: TestApp, token: string): Promise<number> {
  const res = await rpc(
    app,
    token,
    { jsonrpc: "2.0", id: 1, method: "tools/list" },
    {
      "mcp-protocol-version": "2025-06-18",
    },
  );
  await res.arrayBuffer();
  return res.status;
}

/** Passes twice, so /mcp's credential cache holds it and the next request would be a hit. */
async function cached(app: TestApp, token: string) {
  expect(await mcpStatus(app, token)).toBe(200);
  expect(await mcpStatus(app, token)).toBe(200);
}

/** A user, a public client and an approved connection with its unexchanged code. */
async function connection(app: TestApp) {
  const user = await makeUser(app);
  const { client } = await makeClient(app);
  const { authorization, code } = await makeConnection(app, { userId: user.id, clientId: client.id });
  return { user, client, authorization, code };
}

const codeExchange = (app: TestApp, clientId: string, code: string) =>
  postForm(app, "/oauth/token", {
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
    client_id: clientId,
  });

/** A connection whose code was exchanged: its token pair. */
async function connected(app: TestApp) {
  const c = await connection(app);
  const res = await codeExchange(app, c.client.id, c.code);
  expect(res.status).toBe(200);
  return { ...c, tokens: (await res.json()) as TokenBody };
}

/**
 * Two calls raced with each head start: `revoke` begun `offset` microtask turns after `other`
 * (before it when negative). Whichever statements of the one could land between the check and
 * the write of the other, one of these offsets puts them there if the store lets them.
 */
const offsets = Array.from({ length: 13 }, (_, i) => i - 6);
const later = async <T>(turns: number, call: () => Promise<T>) => {
  for (let i = 0; i < turns; i++) await null;
  return call();
};
const raced = <A, B>(offset: number, revoke: () => Promise<A>, other: () => Promise<B>) =>
  Promise.all([
    later(Math.max(offset, 0), revoke).then(settled, failed),
    later(Math.max(-offset, 0), other).then(settled, failed),
  ]);
const settled = <T>(value: T) => ({ status: "fulfilled" as const, value });
const failed = (reason: unknown) => ({ status: "rejected" as const, reason });

export function storeContract(label: string, makeApp: MakeApp) {
  /** A fresh app for one test, closed after it whatever happens. */
  async function withApp(opts: Parameters<MakeApp>[0], body: (app: TestApp) => Promise<void>) {
    const app = await makeApp(opts);
    try {
      await body(app);
    } finally {
      await app.close();
    }
  }

  describe(`store contract on ${label}`, () => {
    afterEach(() => setSystemTime());

    describe("transactions", () => {
      // On PostgreSQL a prepared statement is the store's, run on the transaction's connection
      // (src/db/prepared.ts): one run on the pool instead would miss the body's writes, keep its own
      // after the rollback, or wait forever on the body's row lock.
      test("a prepared statement in a body runs inside it: it sees the body's writes and rolls back with it", () =>
        withApp({}, async (app) => {
          const { client } = await makeClient(app, { name: "Before" });
          const seen: (string | undefined)[] = [];
          const undo = new Error("undo");
          const run = transaction(app.db, function* (tx) {
            yield* changeClient(tx, client.id, { name: "Inside" });
            seen.push((yield* clientById(tx, client.id))?.name);
            yield* markClientUsed(tx, client.id, 4242, 4242);
            seen.push(String((yield* clientById(tx, client.id))?.lastUsedAt));
            throw undo;
          });
          expect(await Promise.resolve(run).catch((e: unknown) => e)).toBe(undo);
          expect(seen).toEqual(["Inside", "4242"]);
          const after = await findClientById(app.db, client.id);
          expect(after).toMatchObject({ name: "Before", lastUsedAt: client.lastUsedAt });
        }));
    });

    describe("single-use credentials", () => {
      test(`an authorization code redeemed ${racers} times at once: one token pair, the rest invalid_grant, and the replays revoke it (RFC 6749 §4.1.2)`, () =>
        withApp({}, async (app) => {
          const { client, authorization, code } = await connection(app);
          const answers = await race(racers, () => codeExchange(app, client.id, code));
          expect(tally(answers.map((a) => a.status))).toEqual({ 200: 1, 400: racers - 1 });
          for (const a of answers.filter((a) => a.status === 400)) expect(errorOf(a.text)).toBe("invalid_grant");
          const tokens = await rows.tokensOf(app, authorization.id);
          expect(tokens.map((t) => t.kind).sort()).toEqual(["access", "refresh"]);
          // A code presented again means it leaked: what it issued is revoked (§4.1.2, OAuth 2.1 §4.1.3).
          expect((await rows.grant(app, authorization.id)).revokedAt).not.toBeNull();
          expect(tokens.every((t) => t.revokedAt !== null)).toBe(true);
          const issued = JSON.parse(answers.find((a) => a.status === 200)!.text) as TokenBody;
          expect(await mcpStatus(app, issued.access_token)).toBe(401);
        }));

      test("an authorization code used twice in turn: the second gets invalid_grant and the pair it issued stops working on /mcp", () =>
        withApp({}, async (app) => {
          const { client, authorization, code } = await connection(app);
          const first = await codeExchange(app, client.id, code);
          const tokens = (await first.json()) as TokenBody;
          await cached(app, tokens.access_token);
          const second = await codeExchange(app, client.id, code);
          expect(second.status).toBe(400);
          expect(errorOf(await second.text())).toBe("invalid_grant");
          expect((await rows.grant(app, authorization.id)).revokedAt).not.toBeNull();
          expect(await mcpStatus(app, tokens.access_token)).toBe(401);
          expect((await refreshRequest(app, client.id, tokens.refresh_token)).status).toBe(400);
        }));

      test(`an approved device code polled ${racers} times at once: one token pair, the rest invalid_grant (RFC 8628 §3.5)`, () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const { client } = await makeClient(app);
          const flow = await startDeviceFlow(app, client.id);
          const answered = await answer(app, flow.device_code, "allow", user.id);
          const grantId = answered!.authorization!.id;
          const answers = await race(racers, () => poll(app, client.id, flow.device_code));
          expect(tally(answers.map((a) => a.status))).toEqual({ 200: 1, 400: racers - 1 });
          for (const a of answers.filter((a) => a.status === 400)) expect(errorOf(a.text)).toBe("invalid_grant");
          const tokens = await rows.tokensOf(app, grantId);
          expect(tokens.map((t) => t.kind).sort()).toEqual(["access", "refresh"]);
          const issued = JSON.parse(answers.find((a) => a.status === 200)!.text) as TokenBody;
          expect(await mcpStatus(app, issued.access_token)).toBe(200);
        }));

      test(`a device code approved ${racers} times at once: one answer, one authorization (RFC 8628 §3.3)`, () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const { client } = await makeClient(app);
          const flow = await startDeviceFlow(app, client.id);
          const answers = await Promise.all(
            Array.from({ length: racers }, () => answer(app, flow.device_code, "allow", user.id)),
          );
          expect(answers.filter((a) => a !== null)).toHaveLength(1);
          const grants = await rows.grantsOfClient(app, client.id);
          expect(grants).toHaveLength(1);
          expect((await rows.deviceCode(app, idOf(flow.device_code))).grantId).toBe(grants[0]!.id);
        }));

      test("a device code approved and denied at once: one answer stands, and an authorization only if it was the approval", () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          for (const offset of offsets) {
            const { client } = await makeClient(app);
            const flow = await startDeviceFlow(app, client.id);
            const [approved, denied] = await raced(
              offset,
              () => answer(app, flow.device_code, "allow", user.id),
              () => answer(app, flow.device_code, "deny"),
            );
            if (approved.status === "rejected" || denied.status === "rejected") throw new Error("an answer failed");
            const winner = approved.value !== null ? "approved" : "denied";
            expect({ offset, answers: [approved.value, denied.value].filter((a) => a !== null).length }).toEqual({
              offset,
              answers: 1,
            });
            const row = await rows.deviceCode(app, idOf(flow.device_code));
            const grants = await rows.grantsOfClient(app, client.id);
            expect({ offset, status: row.status, grants: grants.length }).toEqual({
              offset,
              status: winner,
              grants: winner === "approved" ? 1 : 0,
            });
          }
        }));

      test(`an invitation link accepted ${racers} times at once makes one account`, () =>
        withApp({}, async (app) => {
          const email = "invited@example.com";
          const { invitation, token } = await createInvitation(app.db, {
            email,
            isAdmin: false,
            createdBy: null,
            now: nowSeconds(),
          });
          const link = new URL(invitationUrl(app.url, token)).pathname;
          // Each racer is its own browser holding the form's CSRF token, as people opening the link would.
          const browsers = await Promise.all(
            Array.from({ length: racers }, async () => {
              const b = new Browser(app.url, app.send);
              const page = await b.get(link);
              expect(page.status).toBe(200);
              return { b, csrf: Browser.csrfOf(await page.text()) };
            }),
          );
          const answers = await Promise.all(browsers.map(({ b, csrf }) => b.post(link, { csrf, password })));
          expect(tally(answers.map((a) => a.status))).toEqual({ 303: 1, 404: racers - 1 });
          const made = await rows.usersWithEmail(app, email);
          expect(made).toHaveLength(1);
          expect((await rows.invitation(app, invitation.id)).userId).toBe(made[0]!.id);
        }));

      test(`the setup link sent ${racers} times at once makes one admin`, () =>
        withApp({ setupToken: "contract-setup-token" }, async (app) => {
          const answers = await Promise.all(
            Array.from({ length: racers }, async (_, i) => {
              const b = new Browser(app.url, app.send);
              const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
              return b.post("/setup", { csrf, token: "contract-setup-token", email: `root${i}@example.com`, password });
            }),
          );
          const statuses = answers.map((a) => a.status);
          expect(statuses.filter((s) => s === 303)).toHaveLength(1);
          // 400 when a racer passed the link check and the insert refused it; 404 when it came after.
          expect(statuses.every((s) => s === 303 || s === 400 || s === 404)).toBe(true);
          expect(await rows.activeAdmins(app)).toHaveLength(1);
        }));
    });

    describe("refresh rotation (OAuth 2.1 §4.3.1)", () => {
      test("a refresh gives a new pair and marks the old refresh token rotated, pointing at its successor", () =>
        withApp({}, async (app) => {
          const { client, tokens } = await connected(app);
          const res = await refreshRequest(app, client.id, tokens.refresh_token);
          expect(res.status).toBe(200);
          const next = (await res.json()) as TokenBody;
          expect(next.refresh_token).not.toBe(tokens.refresh_token);
          expect(next.access_token).not.toBe(tokens.access_token);
          const old = await rows.token(app, idOf(tokens.refresh_token));
          expect(old.rotatedAt).not.toBeNull();
          expect(old.revokedAt).toBeNull();
          expect(old.nextRefreshId).toBe(idOf(next.refresh_token));
          expect(old.nextAccessId).toBe(idOf(next.access_token));
          expect(await mcpStatus(app, next.access_token)).toBe(200);
        }));

      test("a replay within the grace window gets the same successor pair", () =>
        withApp({}, async (app) => {
          const { client, authorization, tokens } = await connected(app);
          const first = (await (await refreshRequest(app, client.id, tokens.refresh_token)).json()) as TokenBody;
          advanceClock(app.config.refreshGraceSeconds - 5);
          const again = await refreshRequest(app, client.id, tokens.refresh_token);
          expect(again.status).toBe(200);
          const second = (await again.json()) as TokenBody;
          expect([second.access_token, second.refresh_token]).toEqual([first.access_token, first.refresh_token]);
          expect(await rows.tokensOf(app, authorization.id)).toHaveLength(4);
          expect((await rows.grant(app, authorization.id)).revokedAt).toBeNull();
        }));

      test("a replay after the grace window revokes the family: the authorization and every token, and /mcp answers 401", () =>
        withApp({}, async (app) => {
          const { client, authorization, tokens } = await connected(app);
          const next = (await (await refreshRequest(app, client.id, tokens.refresh_token)).json()) as TokenBody;
          await cached(app, next.access_token);
          advanceClock(app.config.refreshGraceSeconds + 1);
          const replay = await refreshRequest(app, client.id, tokens.refresh_token);
          expect(replay.status).toBe(400);
          expect(errorOf(await replay.text())).toBe("invalid_grant");
          expect((await rows.grant(app, authorization.id)).revokedAt).not.toBeNull();
          const family = await rows.tokensOf(app, authorization.id);
          expect(family).toHaveLength(4);
          expect(family.filter((t) => t.revokedAt === null)).toEqual([]);
          expect(await mcpStatus(app, next.access_token)).toBe(401);
          expect((await refreshRequest(app, client.id, next.refresh_token)).status).toBe(400);
        }));

      test(`one refresh token sent ${racers} times at once: no more than one successor pair`, () =>
        withApp({}, async (app) => {
          const { client, authorization, tokens } = await connected(app);
          const answers = await race(racers, () => refreshRequest(app, client.id, tokens.refresh_token));
          const issued = answers.filter((a) => a.status === 200).map((a) => JSON.parse(a.text) as TokenBody);
          expect(issued.length).toBeGreaterThanOrEqual(1);
          expect(new Set(issued.map((t) => `${t.access_token} ${t.refresh_token}`)).size).toBe(1);
          for (const a of answers.filter((a) => a.status !== 200)) expect(errorOf(a.text)).toBe("invalid_grant");
          // The first pair and one successor: a second successor would be a fifth and sixth row.
          expect(await rows.tokensOf(app, authorization.id)).toHaveLength(4);
        }));

      test("a refresh token revoked (RFC 7009) while it is refreshed: the family ends, and no successor stays live", () =>
        withApp({}, async (app) => {
          // In-process, as the API key races below, so each head start puts one call's statements at a
          // chosen point of the other's: over HTTP the two hardly ever meet between two statements.
          for (const offset of offsets) {
            const { client, authorization, tokens } = await connected(app);
            const oauthClient = (await findClientById(app.db, client.id))!;
            const deps = { db: app.db, log: silentLogger, config: app.config, now: nowSeconds(), audit: app.audit };
            const [revoked, refreshed] = await raced(
              offset,
              () => revokePresentedToken(app.db, { token: tokens.refresh_token, clientId: client.id, now: deps.now }),
              () => refreshTokenGrant(deps, oauthClient, new Map([["refresh_token", tokens.refresh_token]])),
            );
            expect(revoked.status === "fulfilled" && revoked.value?.token.kind).toBe("refresh");
            // A refresh before the revocation gets a pair, revoked with the family; one after is refused.
            if (refreshed.status === "rejected") expect((refreshed.reason as OAuthError).code).toBe("invalid_grant");
            expect((await rows.grant(app, authorization.id)).revokedAt).not.toBeNull();
            const live = (await rows.tokensOf(app, authorization.id)).filter((t) => t.revokedAt === null);
            expect({ offset, live }).toEqual({ offset, live: [] });
          }
        }));

      test(`with no grace, one refresh token sent ${racers} times at once: one pair issued, then the replays revoke the family`, () =>
        withApp({ env: { GATEHOUSE_REFRESH_GRACE: "0" } }, async (app) => {
          const { client, authorization, tokens } = await connected(app);
          const answers = await race(racers, () => refreshRequest(app, client.id, tokens.refresh_token));
          expect(tally(answers.map((a) => a.status))).toEqual({ 200: 1, 400: racers - 1 });
          const family = await rows.tokensOf(app, authorization.id);
          expect(family).toHaveLength(4);
          expect(family.filter((t) => t.revokedAt === null)).toEqual([]);
          expect((await rows.grant(app, authorization.id)).revokedAt).not.toBeNull();
        }));
    });

    describe("a revocation raises the auth epoch, and /mcp turns the cached credential away on the next request", () => {
      /** The epoch before and after `revoke`, with `token` cached by /mcp first; then /mcp's answer to it. */
      async function revoked(app: TestApp, token: string, revoke: () => Promise<unknown>) {
        await cached(app, token);
        const before = await readAuthEpoch(app.db);
        await revoke();
        expect(await readAuthEpoch(app.db)).toBeGreaterThan(before);
        expect(await mcpStatus(app, token)).toBe(401);
      }

      test("an API key revoked", () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const { apiKey, token } = await makeKey(app, user.id);
          await revoked(app, token, async () => {
            expect(await revokeApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: nowSeconds() })).toBe(true);
          });
        }));

      test("a connection revoked", () =>
        withApp({}, async (app) => {
          const { user, authorization, tokens } = await connected(app);
          await revoked(app, tokens.access_token, async () => {
            expect(await revokeConnection(app.db, { id: authorization.id, ownerId: user.id, now: nowSeconds() })).toBe(
              true,
            );
          });
        }));

      test("an access token revoked at the revocation endpoint (RFC 7009)", () =>
        withApp({}, async (app) => {
          const { client, tokens } = await connected(app);
          await revoked(app, tokens.access_token, async () => {
            const res = await postForm(app, "/oauth/revoke", { token: tokens.access_token, client_id: client.id });
            expect(res.status).toBe(200);
          });
          expect((await rows.token(app, idOf(tokens.access_token))).revokedAt).not.toBeNull();
        }));

      test("a user disabled: their API key and their connection's token both", () =>
        withApp({}, async (app) => {
          const { user, tokens } = await connected(app);
          const { token: key } = await makeKey(app, user.id);
          await cached(app, key);
          await revoked(app, tokens.access_token, () => disableAccount(app.db, user.id, nowSeconds()));
          expect(await mcpStatus(app, key)).toBe(401);
        }));
    });

    describe("rate windows count exactly", () => {
      const limit = 5;

      test(`/mcp at ${limit} a minute: ${limit} answered, the next refused 429 with Retry-After`, () =>
        withApp({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: String(limit) } }, async (app) => {
          const user = await makeUser(app);
          const { token } = await makeKey(app, user.id);
          for (let i = 0; i < limit; i++) expect(await mcpStatus(app, token)).toBe(200);
          const refused = await rpc(
            app,
            token,
            { jsonrpc: "2.0", id: 7, method: "tools/list" },
            {
              "mcp-protocol-version": "2025-06-18",
            },
          );
          expect(refused.status).toBe(429);
          const retryAfter = Number(refused.headers.get("retry-after"));
          expect(retryAfter).toBeGreaterThanOrEqual(1);
          expect(retryAfter).toBeLessThanOrEqual(60);
          expect(((await refused.json()) as { error: { code: number } }).error.code).toBe(rateLimitedCode);
        }));

      test(`/mcp at ${limit} a minute, ${limit * 4} requests at once: exactly ${limit} answered`, () =>
        withApp({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: String(limit) } }, async (app) => {
          const user = await makeUser(app);
          const { token } = await makeKey(app, user.id);
          const answers = await race(limit * 4, () =>
            rpc(app, token, { jsonrpc: "2.0", id: 1, method: "tools/list" }, { "mcp-protocol-version": "2025-06-18" }),
          );
          expect(tally(answers.map((a) => a.status))).toEqual({ 200: limit, 429: limit * 3 });
          for (const a of answers.filter((a) => a.status === 429))
            expect(Number(a.res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        }));

      test("a connection's quota is one window whichever of its tokens is used: a refresh does not reset it", () =>
        withApp({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: String(limit) } }, async (app) => {
          const { client, tokens } = await connected(app);
          for (let i = 0; i < limit - 1; i++) expect(await mcpStatus(app, tokens.access_token)).toBe(200);
          const next = (await (await refreshRequest(app, client.id, tokens.refresh_token)).json()) as TokenBody;
          expect(await mcpStatus(app, next.access_token)).toBe(200);
          expect(await mcpStatus(app, next.access_token)).toBe(429);
        }));

      /** A failed password sign-in from a browser of its own; its status and Retry-After. */
      async function failedSignIn(app: TestApp, email: string) {
        const b = new Browser(app.url, app.send);
        const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
        const res = await b.post("/sign-in", { csrf, email, password: "a wrong guess entirely" });
        await res.arrayBuffer();
        return { status: res.status, retryAfter: res.headers.get("retry-after") };
      }

      test("sign-in: 5 failures for an account are answered 401, the 6th attempt 429 with Retry-After even with the right password", () =>
        withApp({}, async (app) => {
          const user = await makeUser(app, { password });
          for (let i = 0; i < 5; i++) expect((await failedSignIn(app, user.email)).status).toBe(401);
          const b = new Browser(app.url, app.send);
          const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
          const res = await b.post("/sign-in", { csrf, email: user.email, password });
          expect(res.status).toBe(429);
          const retryAfter = Number(res.headers.get("retry-after"));
          expect(retryAfter).toBeGreaterThanOrEqual(1);
          expect(retryAfter).toBeLessThanOrEqual(15 * 60);
        }));

      test("sign-in: 12 wrong passwords for one account sent at once: 5 answered 401, 7 refused 429", () =>
        withApp({}, async (app) => {
          const user = await makeUser(app, { password });
          // Each attempt waits for a password hash: the failure must count before that wait, or all 12 pass.
          const statuses = await Promise.all(Array.from({ length: 12 }, () => failedSignIn(app, user.email)));
          expect(statuses.filter((s) => s.status === 401).length).toBe(5);
          expect(statuses.filter((s) => s.status === 429).length).toBe(7);
        }));

      test("sign-in: 30 wrong passwords from one address across accounts sent at once: 20 answered 401, 10 refused 429", () =>
        withApp({}, async (app) => {
          const statuses = await Promise.all(
            Array.from({ length: 30 }, (_, i) => failedSignIn(app, `someone${i}@example.com`)),
          );
          expect(statuses.filter((s) => s.status === 401).length).toBe(20);
          expect(statuses.filter((s) => s.status === 429).length).toBe(10);
        }));

      test("sign-in: a success gives its place back, so sign-ins that succeed never throttle an address", () =>
        withApp({}, async (app) => {
          const user = await makeUser(app, { password });
          for (let i = 0; i < 25; i++) {
            const b = new Browser(app.url, app.send);
            const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
            expect((await b.post("/sign-in", { csrf, email: user.email, password })).status).toBe(303);
          }
          expect((await failedSignIn(app, "nobody@example.com")).status).toBe(401);
        }));

      test("sign-in: 20 failures from one address across accounts, then every account is refused 429", () =>
        withApp({}, async (app) => {
          const user = await makeUser(app, { password });
          for (let i = 0; i < 20; i++) expect((await failedSignIn(app, `nobody${i}@example.com`)).status).toBe(401);
          const refused = await failedSignIn(app, user.email);
          expect(refused.status).toBe(429);
          expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
        }));
    });

    describe("API keys and connections", () => {
      // In-process, as last-admin protection below: each check and the write it guards must be one
      // transaction once the calls can interleave (the store is asynchronous).
      const now = () => nowSeconds();
      const keyInput = (userId: string, name: string) =>
        ({ userId, name, access: "full", expiresInSeconds: null, now: now() }) as const;

      test(`${racers} keys of one name created at once (in any case): one is made, the rest refused`, () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const outcomes = await Promise.allSettled(
            Array.from({ length: racers }, (_, i) =>
              createApiKey(app.db, keyInput(user.id, i % 2 === 0 ? "Deploy" : "DEPLOY")),
            ),
          );
          expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
          for (const o of outcomes.filter((o) => o.status === "rejected"))
            expect((o as PromiseRejectedResult).reason).toBeInstanceOf(ApiKeyError);
          expect(await rows.liveKeysOf(app, user.id)).toHaveLength(1);
        }));

      test(`one key rotated ${racers} times at once: one successor, and the old key is revoked`, () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const { apiKey } = await makeKey(app, user.id);
          const rotated = await Promise.all(
            Array.from({ length: racers }, () => rotateApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: now() })),
          );
          expect(rotated.filter((r) => r !== null)).toHaveLength(1);
          expect((await rows.apiKey(app, apiKey.id)).revokedAt).not.toBeNull();
          expect((await rows.liveKeysOf(app, user.id)).map((k) => k.name)).toEqual([apiKey.name]);
        }));

      test("a key revoked and rotated at once: the old key is dead, and one live successor or none", () =>
        withApp({}, async (app) => {
          for (const offset of offsets) {
            const user = await makeUser(app);
            const { apiKey } = await makeKey(app, user.id);
            const input = { id: apiKey.id, ownerId: user.id, now: now() };
            const [revoked, rotated] = await raced(
              offset,
              () => revokeApiKey(app.db, input),
              () => rotateApiKey(app.db, input),
            );
            if (revoked.status === "rejected" || rotated.status === "rejected") throw new Error("a call failed");
            // Exactly one of them ended the old key: a revoke after the rotation finds it revoked, and the reverse.
            expect({ offset, enders: [revoked.value, rotated.value !== null].filter(Boolean).length }).toEqual({
              offset,
              enders: 1,
            });
            expect((await rows.apiKey(app, apiKey.id)).revokedAt).not.toBeNull();
            expect(await rows.liveKeysOf(app, user.id)).toHaveLength(rotated.value === null ? 0 : 1);
          }
        }));

      test("a key revoked while its key session makes a key: nothing made with it stays live", () =>
        withApp({}, async (app) => {
          for (const offset of offsets) {
            const user = await makeUser(app);
            const { apiKey: parent } = await makeKey(app, user.id);
            const [revoked, made] = await raced(
              offset,
              () => revokeApiKey(app.db, { id: parent.id, ownerId: user.id, now: now() }),
              () => createApiKey(app.db, { ...keyInput(user.id, "child"), createdWith: parent }),
            );
            expect(revoked).toEqual({ status: "fulfilled", value: true });
            if (made.status === "rejected") expect(made.reason).toBeInstanceOf(ApiKeyError);
            expect({ offset, live: await rows.liveKeysOf(app, user.id) }).toEqual({ offset, live: [] });
          }
        }));

      test("a key revoked while a connection is approved in its session: no live authorization of the key remains", () =>
        withApp({}, async (app) => {
          const { client } = await makeClient(app);
          for (const offset of offsets) {
            const user = await makeUser(app);
            const { apiKey } = await makeKey(app, user.id);
            const [revoked, approved] = await raced(
              offset,
              () => revokeApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: now() }),
              () =>
                approveAuthorization(app.db, {
                  userId: user.id,
                  clientId: client.id,
                  apiKeyId: apiKey.id,
                  scope: "mcp:read",
                  resource: mcpResourceUrl(app.url),
                  redirectUri,
                  codeChallenge: challenge,
                  now: now(),
                  codeTtlSeconds: app.config.authCodeTtlSeconds,
                }),
            );
            expect(revoked).toEqual({ status: "fulfilled", value: true });
            expect(approved.status).toBe("fulfilled");
            expect({ offset, live: await rows.liveGrantsOfKey(app, apiKey.id) }).toEqual({ offset, live: [] });
          }
        }));

      test(`one connection revoked ${racers} times at once: one revocation, and the authorization and its tokens are revoked`, () =>
        withApp({}, async (app) => {
          const { user, authorization } = await connected(app);
          const outcomes = await Promise.all(
            Array.from({ length: racers }, () =>
              revokeConnection(app.db, { id: authorization.id, ownerId: user.id, now: now() }),
            ),
          );
          expect(outcomes.filter(Boolean)).toHaveLength(1);
          expect((await rows.grant(app, authorization.id)).revokedAt).not.toBeNull();
          const tokens = await rows.tokensOf(app, authorization.id);
          expect(tokens.length).toBeGreaterThan(0);
          expect(tokens.filter((t) => t.revokedAt === null)).toEqual([]);
        }));
    });

    describe("last-admin protection", () => {
      // In-process: over HTTP the loser's own session or admin role is gone before its turn, which would
      // hide a broken check. The two calls interleave once the store is asynchronous; the check and the
      // write must then still be one transaction.
      test("the two last admins disabled at once: exactly one is disabled, one active admin remains", () =>
        withApp({}, async (app) => {
          const admins = [await makeUser(app, { isAdmin: true }), await makeUser(app, { isAdmin: true })];
          const outcomes = await Promise.allSettled(
            admins.map(async (admin) => disableAccount(app.db, admin.id, nowSeconds())),
          );
          expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
          const refusal = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
          expect(refusal.reason).toBeInstanceOf(AccountError);
          expect(await rows.activeAdmins(app)).toHaveLength(1);
        }));

      test("the two last admins demoted at once: exactly one is demoted, one active admin remains", () =>
        withApp({}, async (app) => {
          const admins = [await makeUser(app, { isAdmin: true }), await makeUser(app, { isAdmin: true })];
          const outcomes = await Promise.allSettled(admins.map(async (admin) => setAdmin(app.db, admin.id, false)));
          expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
          expect((outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(
            AccountError,
          );
          expect(await rows.activeAdmins(app)).toHaveLength(1);
        }));

      test("one of the two last admins disabled while the other is demoted: one change is refused", () =>
        withApp({}, async (app) => {
          const [a, b] = [await makeUser(app, { isAdmin: true }), await makeUser(app, { isAdmin: true })];
          const outcomes = await Promise.allSettled([
            disableAccount(app.db, a.id, nowSeconds()),
            setAdmin(app.db, b.id, false),
          ]);
          expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
          expect(await rows.activeAdmins(app)).toHaveLength(1);
        }));
    });

    describe("service accounts", () => {
      const serviceAccount = (app: TestApp, name: string) =>
        createServiceAccount(app.db, {
          name,
          access: "read",
          tools: null,
          resource: `${app.url}/mcp`,
          now: nowSeconds(),
        });

      test(`one name created ${racers} times at once: one account, one client, the rest refused`, () =>
        withApp({}, async (app) => {
          const outcomes = await Promise.allSettled(
            Array.from({ length: racers }, () => serviceAccount(app, "ci-race")),
          );
          expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
          for (const o of outcomes) if (o.status === "rejected") expect(o.reason).toBeInstanceOf(AccountError);
          expect(await rows.usersWithEmail(app, "ci-race@service.invalid")).toHaveLength(1);
          expect(await rows.serviceClients(app)).toHaveLength(1);
        }));

      test("the new-secret form sent twice at once: one new secret, the other told it changed", () =>
        withApp({}, async (app) => {
          const { account } = await serviceAccount(app, "ci-secret");
          const version = secretVersionOf(account.client.secretHash!);
          const outcomes = await Promise.all([
            newServiceAccountSecret(app.db, account.user.id, version),
            newServiceAccountSecret(app.db, account.user.id, version),
          ]);
          expect(outcomes.filter((o) => o === "changed")).toHaveLength(1);
          const renewed = outcomes.find((o) => typeof o === "object" && o !== null);
          if (!renewed) throw new Error("no new secret");
          const [client] = await rows.serviceClients(app);
          expect(secretMatches(renewed.clientSecret, client!.secretHash!)).toBe(true);
        }));

      test("one account deleted twice at once: one deletion, the other finds nothing", () =>
        withApp({}, async (app) => {
          const { account } = await serviceAccount(app, "ci-gone");
          const outcomes = await Promise.all([
            deleteServiceAccount(app.db, account.user.id),
            deleteServiceAccount(app.db, account.user.id),
          ]);
          expect(outcomes.map((o) => o?.user.id ?? null).sort()).toEqual([account.user.id, null].sort());
          expect(await rows.serviceClients(app)).toHaveLength(0);
        }));
    });

    describe("accounts and the audit log", () => {
      test(`one email given ${racers} accounts at once: one account, the rest refused`, () =>
        withApp({}, async (app) => {
          const outcomes = await Promise.allSettled(
            Array.from({ length: racers }, () =>
              createUser(app.db, { email: "Race@Example.com", password: null, isAdmin: false, now: nowSeconds() }),
            ),
          );
          expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
          for (const o of outcomes) if (o.status === "rejected") expect(o.reason).toBeInstanceOf(AccountError);
          expect(await rows.usersWithEmail(app, "race@example.com")).toHaveLength(1);
        }));

      test("the user filter matches an entry by its user's email, or with no user by the email in its detail", () =>
        withApp({}, async (app) => {
          const alice = await makeUser(app, { email: "alice@example.com" });
          const entry = (userId: string | null, email: string, requestId: string): NewAuditEvent => ({
            at: nowSeconds(),
            event: "sign_in_failed",
            outcome: "denied",
            userId,
            clientId: null,
            apiKeyId: null,
            grantId: null,
            tool: null,
            upstream: null,
            durationMs: null,
            requestId,
            ip: null,
            detail: JSON.stringify({ email }),
          });
          await insertAuditEvents(app.db, [
            entry(alice.id, "someone@example.com", "by-user"),
            entry(null, "alice@example.com", "by-detail"),
            entry(null, "mallory@example.com", "other-detail"),
            entry(alice.id, "mallory@example.com", "user-wins"),
          ]);
          const matching = async (email: string) =>
            (await listAuditEvents(app.db, { email }, { limit: 10 })).map((e) => e.requestId).sort();
          expect(await matching("alice@example.com")).toEqual(["by-detail", "by-user", "user-wins"]);
          expect(await matching("mallory@example.com")).toEqual(["other-detail"]);
          expect(await countAuditEvents(app.db, { email: "mallory@example.com" })).toBe(1);
        }));
    });

    describe("client registration, the polling bridge and consent requests", () => {
      const clientRows = (app: TestApp, id: string) => {
        const { oauthClients } = app.db.tables;
        return app.db.select().from(oauthClients).where(eq(oauthClients.id, id));
      };
      const grantsOf = (app: TestApp, userId: string) => {
        const { oauthGrants } = app.db.tables;
        return app.db.select().from(oauthGrants).where(eq(oauthGrants.userId, userId));
      };
      /** The consent page `path` opens in `b`: its form, to post with a decision. */
      const consentForm = async (b: Browser, path: string) => {
        const page = await openConsent(b, path);
        return (decision: "allow" | "deny") =>
          b.post("/oauth/authorize", { csrf: page.csrf, request: page.request, decision, access: "read" });
      };

      test(`one public registration sent ${racers} times at once (RFC 7591): one client, and every answer names it`, () =>
        withApp({}, async (app) => {
          const body = {
            client_name: "Race",
            redirect_uris: ["https://race.example/cb"],
            token_endpoint_auth_method: "none",
          };
          const answers = await Promise.all(Array.from({ length: racers }, () => register(app, body)));
          expect(tally(answers.map((a) => a.res.status))).toEqual({ 201: racers });
          const ids = new Set(answers.map((a) => String(a.json.client_id)));
          expect(ids.size).toBe(1);
          const { oauthClients } = app.db.tables;
          const dcr = await app.db.select().from(oauthClients).where(eq(oauthClients.kind, "dcr"));
          expect(dcr.map((c) => c.id)).toEqual([...ids]);
        }));

      test(`one consent request answered ${racers} times at once: one code, one grant, the rest refused`, () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const { client } = await makeClient(app);
          const b = await browserOf(app, user.id);
          const send = await consentForm(b, authorizePath(client.id, { redirect_uri: redirectUri, scope: "mcp:read" }));
          const answers = await race(racers, () => send("allow"));
          expect(tally(answers.map((a) => a.status))).toEqual({ 302: 1, 400: racers - 1 });
          expect(locationOf(answers.find((a) => a.status === 302)!.res).query.code).toBeDefined();
          expect(await grantsOf(app, user.id)).toHaveLength(1);
        }));

      test("one bridge state answered from two consent pages at once: one answer recorded, the other refused", () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const client = await addBridgeClient(app);
          const b = await browserOf(app, user.id);
          const state = strongState();
          const path = bridgeAuthorizePath(app, client.id, state);
          const [first, second] = [await consentForm(b, path), await consentForm(b, path)];
          const answers = await Promise.all([first("allow"), second("allow")]);
          expect(answers.map((a) => a.status).sort()).toEqual([302, 400]);
          expect(await grantsOf(app, user.id)).toHaveLength(1);
          const code = locationOf(answers.find((a) => a.status === 302)!).query.code!;
          const { res, json } = await bridgePoll(app, { state, client_id: client.id });
          expect([res.status, json.code]).toEqual([200, code]);
        }));

      test("one bridge state answered twice at once in the store: one answer wins", () =>
        withApp({}, async (app) => {
          const client = await addBridgeClient(app);
          const state = strongState();
          const now = nowSeconds();
          const answerWith = (code: string) =>
            answerBridge(app.db, { state, clientId: client.id, code, error: null, now, expiresAt: now + 60 });
          const outcomes = await Promise.all([answerWith("first-code"), answerWith("second-code")]);
          expect(outcomes.filter(Boolean)).toHaveLength(1);
        }));

      test(`an answered bridge state polled ${racers} times at once: the code is handed out once`, () =>
        withApp({}, async (app) => {
          const user = await makeUser(app);
          const client = await addBridgeClient(app);
          const b = await browserOf(app, user.id);
          const state = strongState();
          const answered = await (await consentForm(b, bridgeAuthorizePath(app, client.id, state)))("allow");
          const code = locationOf(answered).query.code!;
          const polls = await Promise.all(
            Array.from({ length: racers }, () => bridgePoll(app, { state, client_id: client.id })),
          );
          expect(tally(polls.map((p) => p.res.status))).toEqual({ 200: 1, 400: racers - 1 });
          expect(polls.find((p) => p.res.status === 200)!.json.code).toBe(code);
        }));

      test("a client deleted while its code is exchanged: no token of it survives, and nothing answers 500", () =>
        withApp({}, async (app) => {
          const { client, authorization, code } = await connection(app);
          const [deleted, exchanged] = await Promise.all([
            deleteClientInScope(app.db, null, client.id),
            codeExchange(app, client.id, code),
          ]);
          expect(deleted).toBe(true);
          expect([200, 400, 401]).toContain(exchanged.status);
          expect(await clientRows(app, client.id)).toHaveLength(0);
          expect(await rows.tokensOf(app, authorization.id)).toHaveLength(0);
          if (exchanged.status === 200) {
            const issued = (await exchanged.json()) as TokenBody;
            expect(await mcpStatus(app, issued.access_token)).toBe(401);
          }
        }));

      test("one client deleted twice at once: one deletion, the other finds nothing", () =>
        withApp({}, async (app) => {
          const { client } = await makeClient(app);
          const outcomes = await Promise.all([
            deleteClientInScope(app.db, null, client.id),
            deleteClientInScope(app.db, null, client.id),
          ]);
          expect(outcomes.sort()).toEqual([false, true]);
        }));

      test("a confidential client's secret renewed twice at once: one new secret, the other refused", () =>
        withApp({}, async (app) => {
          const { client } = await makeClient(app, { method: "client_secret_basic" });
          const outcomes = await Promise.all([renewClientSecret(app.db, client), renewClientSecret(app.db, client)]);
          const renewed = outcomes.filter((o) => o !== null);
          expect(renewed).toHaveLength(1);
          const [row] = await clientRows(app, client.id);
          expect(secretMatches(renewed[0]!, row!.secretHash!)).toBe(true);
        }));
    });
  });
}
