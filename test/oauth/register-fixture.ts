import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import type { TestApp } from "../helpers.ts";

// Shared by the registration tests: raw HTTP to /oauth/register from an
// address of the test's choosing (the app trusts X-Forwarded-For), so the
// per-address limit stays out of the way except where it is the subject.

let addressCounter = 0;
const freshAddress = () => `198.51.100.${++addressCounter % 250}-${addressCounter}`;

/** Registers at a test app (in-process or not), or over HTTP at a base URL. */
export async function register(
  to: Pick<TestApp, "request"> | string,
  body: unknown,
  opts: { address?: string; contentType?: string; raw?: string } = {},
) {
  const init = {
    method: "POST",
    headers: {
      "content-type": opts.contentType ?? "application/json",
      "x-forwarded-for": opts.address ?? freshAddress(),
    },
    body: opts.raw ?? JSON.stringify(body),
  };
  const res = await (typeof to === "string"
    ? fetch(`${to}/oauth/register`, init)
    : to.request("/oauth/register", init));
  return { res, json: (await res.json()) as Record<string, unknown> };
}

export const rowOf = async (app: TestApp, id: unknown) => {
  const { oauthClients } = app.db.tables;
  return first(
    await app.db
      .select()
      .from(oauthClients)
      .where(eq(oauthClients.id, String(id)))
      .limit(1),
  );
};
export const rowCount = async (app: TestApp) => {
  const { oauthClients } = app.db.tables;
  return (await app.db.select().from(oauthClients)).length;
};
export const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");
let uniq = 0;
/** A redirect URI no other test uses, so deduplication never crosses tests. */
export const uniqueUri = () => `https://client.example/cb/${++uniq}`;
