import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createServiceAccount } from "../../src/accounts/service-accounts.ts";
import { first } from "../../src/db/transaction.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { advanceClock } from "../support/clock.ts";
import {
  basicAuth,
  makeClient,
  makeCode,
  makeUser,
  nowSeconds,
  postForm,
  redirectUri,
  verifier,
} from "./token-fixture.ts";

// One client's token requests all at once, over HTTP (issue 16). On
// PostgreSQL each grant is a SERIALIZABLE transaction that also records the
// client's last use when it is a minute old; every one of them that started
// before another's record committed is aborted (40001) and run again. A
// request must never run out of attempts and answer 500 for that.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());
afterEach(() => {
  setSystemTime();
});

/**
 * How many requests of one client are sent at once: twice bench/oauth.ts's connections, many
 * more than the runner's attempts (src/db/transaction.ts), so a retry that meets a conflict
 * again at every attempt runs out.
 */
const atOnce = 64;

/** Each answer's status, and the body of any that is not 200, so a failure shows what the server said. */
async function outcomes(answers: Response[]): Promise<string[]> {
  return Promise.all(answers.map(async (res) => (res.status === 200 ? "200" : `${res.status} ${await res.text()}`)));
}

const everyOk = Array.from({ length: atOnce }, () => "200");

async function lastUseOf(clientId: string): Promise<number | null> {
  const { oauthClients } = app.db.tables;
  return first(await app.db.select().from(oauthClients).where(eq(oauthClients.id, clientId)).limit(1))!.lastUsedAt;
}

describe("one client's grants at once", () => {
  test("code exchanges all answer 200, at the client's first use and a minute later", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const exchangeAll = async () => {
      const codes: string[] = [];
      for (let i = 0; i < atOnce; i++) codes.push((await makeCode(app, { userId: user.id, clientId: client.id })).code);
      const params = (code: string) => ({
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: client.id,
      });
      return outcomes(await Promise.all(codes.map((code) => postForm(app, "/oauth/token", params(code)))));
    };
    const firstUse = nowSeconds();
    expect(await exchangeAll()).toEqual(everyOk);
    expect(await lastUseOf(client.id)).toBeGreaterThanOrEqual(firstUse);
    advanceClock(61);
    const minuteLater = nowSeconds();
    expect(await exchangeAll()).toEqual(everyOk);
    expect(await lastUseOf(client.id)).toBeGreaterThanOrEqual(minuteLater);
  });

  test("client_credentials all answer 200, at the account's first use and a minute later", async () => {
    const { account, clientSecret } = await createServiceAccount(app.db, {
      name: "hot",
      access: "full",
      tools: null,
      resource: mcpResourceUrl(app.url),
      now: nowSeconds(),
    });
    const authorization = basicAuth(account.client.id, clientSecret);
    const askAll = async () =>
      outcomes(
        await Promise.all(
          Array.from({ length: atOnce }, () =>
            postForm(app, "/oauth/token", { grant_type: "client_credentials" }, { authorization }),
          ),
        ),
      );
    const firstUse = nowSeconds();
    expect(await askAll()).toEqual(everyOk);
    expect(await lastUseOf(account.client.id)).toBeGreaterThanOrEqual(firstUse);
    advanceClock(61);
    const minuteLater = nowSeconds();
    expect(await askAll()).toEqual(everyOk);
    expect(await lastUseOf(account.client.id)).toBeGreaterThanOrEqual(minuteLater);
  });
});
