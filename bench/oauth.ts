// Token endpoint throughput, each number beside /healthz measured in the
// same run, same process, same concurrency:
//
//   bun bench/oauth.ts [count] [concurrency]
//
// Serves createApp on a temp data dir on loopback only. Codes are made
// directly in the database (fixed PKCE pair); the code exchanges then give
// one refresh-token chain per worker, which each worker rotates in turn;
// then a service account asks for client_credentials tokens.
// Bounded by count and by a deadline per phase.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app.ts";
import { createServiceAccount } from "../src/accounts/service-accounts.ts";
import { createUser } from "../src/accounts/users.ts";
import { loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { silentLogger } from "../src/log.ts";
import { insertClient } from "../src/oauth/clients-store.ts";
import { approveAuthorization } from "../src/oauth/authorizations.ts";
import { mcpResourceUrl } from "../src/oauth/resource.ts";

const count = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 16);
const phaseDeadlineMs = 30_000;
// RFC 7636 Appendix B.
const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const redirectUri = "https://bench.example/callback";
const now = () => Math.floor(Date.now() / 1000);

const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-oauth-"));
const config = loadConfig({ GATEHOUSE_DATA_DIR: dataDir, PORT: "8080", GATEHOUSE_PUBLIC_URL: "http://127.0.0.1:8080" });
const db = openDatabase(dataDir);
migrate(db.$client);
const app = createApp({ config, db, log: silentLogger, now, setupToken: null });
app.listen({ port: 0, hostname: "127.0.0.1" });
const base = `http://127.0.0.1:${app.server!.port}`;

/** Runs `request(i)` for i < n with `concurrency` workers; requests per second, or throws on a non-200. */
async function measure(n: number, request: (i: number, worker: number) => Promise<Response>): Promise<number> {
  let next = 0;
  let done = 0;
  const deadline = performance.now() + phaseDeadlineMs;
  const start = performance.now();
  const worker = async (w: number) => {
    while (next < n && performance.now() < deadline) {
      const i = next++;
      const res = await request(i, w);
      if (res.status !== 200) throw new Error(`request ${i}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return done / ((performance.now() - start) / 1000);
}

const form = (params: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(params).toString(),
});

const healthz = () => measure(count, () => fetch(`${base}/healthz`));
const fmt = (n: number) => n.toFixed(0);
const line = (what: string, rate: number, base: number) =>
  `${what}: ${fmt(rate)}/s (healthz: ${fmt(base)}/s, ratio ${(rate / base).toFixed(3)})`;

try {
  const user = await createUser(db, { email: "bench@example.com", password: null, isAdmin: false, now: now() });
  const clientId = "bench-client";
  insertClient(db, {
    id: clientId,
    kind: "manual",
    name: "Bench",
    redirectUris: [redirectUri],
    tokenEndpointAuthMethod: "none",
    secretHash: null,
    clientUri: null,
    fingerprint: null,
    metadataExpiresAt: null,
    metadataFetchedAt: null,
    createdAt: now(),
    lastUsedAt: null,
    ownerUserId: null,
  });
  const codes = Array.from(
    { length: count },
    () =>
      approveAuthorization(db, {
        userId: user.id,
        clientId,
        apiKeyId: null,
        scope: "mcp:read mcp:write",
        resource: mcpResourceUrl(config.publicUrl),
        redirectUri,
        codeChallenge: challenge,
        now: now(),
        codeTtlSeconds: config.authCodeTtlSeconds,
      }).code,
  );

  // Warm both paths so neither number pays for first-request compilation.
  await measure(200, () => fetch(`${base}/healthz`));

  const chains: string[] = [];
  const codeRate = await measure(count, async (i, w) => {
    const res = await fetch(
      `${base}/oauth/token`,
      form({
        grant_type: "authorization_code",
        code: codes[i]!,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: clientId,
      }),
    );
    if (res.status === 200 && chains[w] === undefined)
      chains[w] = ((await res.clone().json()) as { refresh_token: string }).refresh_token;
    return res;
  });
  const codeBase = await healthz();
  console.log(line("code exchange", codeRate, codeBase));

  const refreshRate = await measure(count, async (_i, w) => {
    const res = await fetch(
      `${base}/oauth/token`,
      form({ grant_type: "refresh_token", refresh_token: chains[w]!, client_id: clientId }),
    );
    if (res.status === 200) chains[w] = ((await res.clone().json()) as { refresh_token: string }).refresh_token;
    return res;
  });
  const refreshBase = await healthz();
  console.log(line("refresh rotation", refreshRate, refreshBase));

  const service = createServiceAccount(db, {
    name: "bench",
    access: "full",
    tools: null,
    resource: mcpResourceUrl(config.publicUrl),
    now: now(),
  });
  const basic = `Basic ${btoa(`${service.account.client.id}:${service.clientSecret}`)}`;
  const serviceRate = await measure(count, () =>
    fetch(`${base}/oauth/token`, {
      ...form({ grant_type: "client_credentials" }),
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic },
    }),
  );
  const serviceBase = await healthz();
  console.log(line("client_credentials", serviceRate, serviceBase));
} finally {
  await app.stop(true);
  db.$client.close();
  rmSync(dataDir, { recursive: true, force: true });
}
