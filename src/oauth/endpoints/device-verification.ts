import { Elysia, type Context } from "elysia";
import type { AuditLog } from "../../audit/entry.ts";
import type { SignedIn } from "../../accounts/sessions.ts";
import { createRateLimiter, reserveAll } from "../../security/rate-limit.ts";
import { csrfToken, type CookieJar } from "../../web/cookies.ts";
import type { WebDeps } from "../../http/deps.ts";
import type { PageGuards } from "../../http/page-guards.ts";
import { ceilingOf, field, signedIn, viewerOf } from "../../web/context.ts";
import { signInUrl } from "../../web/next-path.ts";
import { ConsentPage } from "../../../views/consent.tsx";
import { DeviceCodePage } from "../../../views/device.tsx";
import { connectedAppsPath } from "../../../views/keys.tsx";
import { MessagePage } from "../../../views/message.tsx";
import { findClientById, touchClient } from "../clients-store.ts";
import { consentAccessFields, consentClient, consentAnswer, consentLimits, consentOffer } from "../consent.ts";
import {
  answerDeviceAuthorization,
  findPendingByUserCode,
  formatUserCode,
  normalizeUserCode,
} from "../device-codes.ts";
import type { DeviceCode } from "../device-codes-store.ts";
import { devicePaths } from "../paths.ts";
import { formatScope, parseScope, scopeDescriptions } from "../scopes.ts";

// Wrong user codes are throttled per session and per address (RFC 8628 §5.1:
// the user code is short, so guessing must be slow). Each attempt counts as a
// wrong one before the lookup and is given back when the code is right, so
// attempts sent at once cannot all pass a check made before any of them failed.
const failureWindowSeconds = 15 * 60;
const failuresPerSession = 10;
const failuresPerAddress = 30;
const invalidCodeMessage =
  "That code is not valid, has expired or was already used. Check the code your device shows, or start again on the device.";

/**
 * RFC 8628 §3.3: a signed-in person types the user code (or follows
 * verification_uri_complete), then answers the usual consent page.
 */
export function deviceVerificationRoutes(web: WebDeps, pages: PageGuards) {
  const failures = { windowSeconds: failureWindowSeconds, now: web.now, counters: web.rateCounters };
  const perSession = createRateLimiter({ ...failures, limit: failuresPerSession, prefix: "device-code:session" });
  const perAddress = createRateLimiter({ ...failures, limit: failuresPerAddress, prefix: "device-code:address" });
  /** Who is signed in, for the header of these pages (the minimal one: they are reached from a device). */
  const accountOf = (current: SignedIn, jar: CookieJar) => ({
    viewer: viewerOf(current),
    csrf: csrfToken(jar, web.secure),
  });
  const page = (
    set: Context["set"],
    status: number,
    title: string,
    message: string,
    account?: ReturnType<typeof accountOf>,
  ) => {
    set.status = status;
    const link = { href: devicePaths.verify, label: "Enter a code" };
    return MessagePage({ title, message, link, chrome: "minimal", ...account });
  };

  /** The pending device authorization a typed code names, or a page saying why not (wrong codes counted). */
  const lookUp = async (
    current: SignedIn,
    jar: CookieJar,
    typed: string,
    set: Context["set"],
    address: string,
    audit: AuditLog,
  ) => {
    const wait = await reserveAll([
      [perSession, current.session.id],
      [perAddress, address],
    ]);
    if (wait > 0) {
      web.metrics.rateLimited("device_code");
      set.headers["retry-after"] = String(wait);
      return {
        page: page(
          set,
          429,
          "Too many attempts",
          `Too many wrong codes. Try again in ${Math.ceil(wait / 60)} minute(s).`,
          accountOf(current, jar),
        ),
      };
    }
    const row = await findPendingByUserCode(web.db, typed, web.now());
    if (row) {
      await perSession.release(current.session.id);
      await perAddress.release(address);
      return { row };
    }
    web.log.warn("wrong device user code", { user_id: current.user.id });
    audit.record({
      event: "user_code_failed",
      outcome: "denied",
      userId: current.user.id,
      apiKeyId: current.session.apiKeyId,
    });
    return { page: null };
  };

  /** The consent page for a device's request; `posted` (a form answered with an error) keeps what the person chose. */
  const consentPage = async (
    set: Context["set"],
    jar: CookieJar,
    current: SignedIn,
    row: DeviceCode,
    userCode: string,
    error?: string,
    posted?: unknown,
  ) => {
    const client = await findClientById(web.db, row.clientId);
    if (!client)
      return page(
        set,
        400,
        "This device cannot connect",
        "The app that asked is no longer registered. Start again on the device.",
        accountOf(current, jar),
      );
    const scopes = parseScope(row.scope, { ignoreUnknown: true });
    const formatted = formatUserCode(normalizeUserCode(userCode) ?? "");
    return ConsentPage({
      viewer: viewerOf(current),
      csrf: csrfToken(jar, web.secure),
      // The form carries the user code back: answering needs the code, as finding the request did.
      requestId: formatted,
      userCode: formatted,
      action: devicePaths.consent,
      client: await consentClient(web.db, client),
      redirect: null,
      scopes: scopes.map((scope) => ({ scope, description: scopeDescriptions[scope] })),
      access: consentAccessFields(current, consentOffer(current, web.catalogue, scopes), scopes, posted),
      limits: consentLimits(current, web.policies ?? []),
      error,
    });
  };

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      set.headers["cache-control"] = "no-store";
    })
    .get(
      devicePaths.verify,
      ({ request, viewer, csrf }) => {
        const userCode = (new URL(request.url).searchParams.get("user_code") ?? "").slice(0, 20);
        return DeviceCodePage({ viewer, csrf, userCode });
      },
      { signedIn: true },
    )
    .post(
      devicePaths.verify,
      async ({ body, cookie, clientIp, audit, set, redirect }) => {
        const current = await signedIn(web, cookie);
        if (!current) return redirect(signInUrl(devicePaths.verify), 303);
        const typed = field(body, "user_code").slice(0, 20);
        const found = await lookUp(current, cookie, typed, set, clientIp, audit);
        if ("page" in found) {
          if (found.page) return found.page;
          set.status = 400;
          return DeviceCodePage({
            viewer: viewerOf(current),
            csrf: csrfToken(cookie, web.secure),
            userCode: typed,
            error: invalidCodeMessage,
          });
        }
        return consentPage(set, cookie, current, found.row, typed);
      },
      { form: devicePaths.verify, clientIp: true },
    )
    .post(
      devicePaths.consent,
      async ({ body, cookie, clientIp, audit, set }) => {
        const current = await signedIn(web, cookie);
        if (!current)
          return page(
            set,
            401,
            "Signed out",
            "Your session ended before you answered. Sign in and enter the code again.",
          );
        const decision = field(body, "decision");
        const account = accountOf(current, cookie);
        if (decision !== "allow" && decision !== "deny")
          return page(set, 400, "No answer", "Choose Allow or Deny.", account);
        const userCode = field(body, "request").slice(0, 20);
        const found = await lookUp(current, cookie, userCode, set, clientIp, audit);
        if ("page" in found) return found.page ?? page(set, 400, "Code not valid", invalidCodeMessage, account);
        const row = found.row;
        const now = web.now();
        const requested = parseScope(row.scope, { ignoreUnknown: true });
        const answer =
          decision === "allow"
            ? consentAnswer(body, consentOffer(current, web.catalogue, requested), requested, ceilingOf(current))
            : { ok: true as const, scopes: [], tools: [], argumentLimits: null };
        // A form that cannot be granted as posted is shown again with why; the request stays pending.
        if (!answer.ok) {
          set.status = 400;
          return consentPage(set, cookie, current, row, userCode, answer.error, body);
        }
        const { scopes, tools, argumentLimits } = answer;
        const who = { userId: current.user.id, clientId: row.clientId, apiKeyId: current.session.apiKeyId };
        if (scopes.length === 0) {
          if (!(await answerDeviceAuthorization(web.db, { row, now, decision: "deny" })))
            return page(set, 400, "Code not valid", invalidCodeMessage, account);
          audit.record({
            event: "consent_denied",
            outcome: "denied",
            ...who,
            detail: { scope: row.scope, flow: "device" },
          });
          return MessagePage({
            title: "Access denied",
            message: "The device was not connected. You can close this page.",
            chrome: "minimal",
            ...account,
          });
        }
        const answered = await answerDeviceAuthorization(web.db, {
          row,
          now,
          decision: "allow",
          userId: current.user.id,
          // A session opened with an API key ties the grant to that key: revoking the key revokes it.
          apiKeyId: current.session.apiKeyId,
          scope: formatScope(scopes),
          tools,
          argumentLimits,
        });
        if (!answered?.authorization) return page(set, 400, "Code not valid", invalidCodeMessage, account);
        await touchClient(web.db, row.clientId, now);
        audit.record({
          event: "consent_given",
          outcome: "ok",
          ...who,
          grantId: answered.authorization.id,
          detail: { scope: answered.authorization.scope, tools: tools ?? "all", flow: "device" },
        });
        return MessagePage({
          title: "Device connected",
          message: "The device is connected. Go back to it: it continues by itself.",
          // Onward from here: where the new connection is listed, and can be revoked.
          link: { href: connectedAppsPath, label: "See your connected apps" },
          chrome: "minimal",
          ...account,
        });
      },
      { form: devicePaths.verify, clientIp: true },
    );
}
