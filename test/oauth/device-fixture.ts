// Shared by the device authorization tests (RFC 8628): starting a device
// flow over HTTP, answering it in the database, and polling the token endpoint.
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { answerDeviceAuthorization, deviceCodePrefix } from "../../src/oauth/device-codes.ts";
import { parseCredential } from "../../src/security/tokens.ts";
import type { TestApp } from "../helpers.ts";
import { nowSeconds, postForm } from "./token-fixture.ts";

export const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code";
export const deviceCodePattern = /^gate_dc_[a-z2-7]{16}_[a-z2-7]{52}$/;
export const userCodePattern = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

export interface DeviceAuthorizationBody {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** A device authorization request expected to succeed. */
export async function startDeviceFlow(
  app: TestApp,
  clientId: string,
  extra: Record<string, string> = {},
): Promise<DeviceAuthorizationBody> {
  const res = await postForm(app, "/oauth/device_authorization", { client_id: clientId, ...extra });
  if (res.status !== 200) throw new Error(`device authorization failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as DeviceAuthorizationBody;
}

export function poll(app: TestApp, clientId: string, deviceCode: string, extra: Record<string, string> = {}) {
  return postForm(app, "/oauth/token", {
    grant_type: deviceGrantType,
    device_code: deviceCode,
    client_id: clientId,
    ...extra,
  });
}

export async function deviceRow(app: TestApp, deviceCode: string) {
  const parsed = parseCredential(deviceCodePrefix, deviceCode);
  if (!parsed) throw new Error("not a device code");
  const { oauthDeviceCodes } = app.db.tables;
  return first(await app.db.select().from(oauthDeviceCodes).where(eq(oauthDeviceCodes.id, parsed.id)).limit(1))!;
}

/** Answers the device authorization as the consent page would. */
export async function answer(app: TestApp, deviceCode: string, decision: "allow" | "deny", userId = "") {
  const row = await deviceRow(app, deviceCode);
  const now = nowSeconds();
  if (decision === "deny") return answerDeviceAuthorization(app.db, { row, now, decision });
  return answerDeviceAuthorization(app.db, { row, now, decision, userId, apiKeyId: null, scope: row.scope, tools: [] });
}

export async function errorOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}
