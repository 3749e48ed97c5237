import { Elysia } from "elysia";
import type { SignedIn } from "../accounts/sessions.ts";
import { parseDurationSeconds } from "../config.ts";
import { findApiKeyWithUser, listLiveApiKeys } from "../keys/api-keys-store.ts";
import { accessLevelOf, createApiKey, revokeApiKey, rotateApiKey, ApiKeyError } from "../keys/api-keys.ts";
import { accessOffer, toolGroups, withinCeiling, type AccessOffer } from "../mcp/access.ts";
import { writeToolChoices } from "../mcp/tool-permissions.ts";
import { limitItems, limitLines } from "../mcp/argument-gates.ts";
import {
  listConnections,
  ownConnection,
  revokeConnection,
  setConnectionLimits,
  type Connection,
} from "../oauth/connections.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import { KeyCreatedPage } from "../../views/key-created.tsx";
import {
  expiryChoices,
  KeysPage,
  type ConnectionLimitsError,
  type ConnectionRow,
  type KeysForm,
} from "../../views/keys.tsx";
import { MessagePage } from "../../views/message.tsx";
import { accessFromForm } from "./access-form.ts";
import { limitsFromForm } from "./limits-form.ts";
import { csrfToken, type CookieJar } from "./cookies.ts";
import { actsAsAdmin, ceilingOf, field, fieldValues, signedIn, viewerOf } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards } from "../http/page-guards.ts";

// The API keys page: every signed-in user manages their own keys here, and
// their connections (approved OAuth authorizations); an admin sees everyone's.
// A session opened by pasting an API key acts with at most that key's access:
// it creates and rotates keys only at or below it, and keys it makes end
// with it (api_keys.created_with_key_id).
export function keysRoutes(web: WebDeps, pages: PageGuards) {
  const keyRows = (userId: string) =>
    listLiveApiKeys(web.db, userId).map(({ apiKey: k }) => ({
      id: k.id,
      name: k.name,
      access: accessLevelOf(k.scope),
      tools: k.tools,
      limits: limitItems(k.argumentLimits),
      createdAt: k.createdAt,
      lastUsedAt: k.lastUsedAt,
      expiresAt: k.expiresAt,
    }));

  // The write tools a new key can be given: read when the page is drawn, as upstreams come and go.
  const offerFor = (current: SignedIn) => accessOffer(ceilingOf(current), writeToolChoices(web.catalogue.tools));

  const connectionRows = (connections: Connection[]): ConnectionRow[] =>
    connections.map((c) => ({
      ...c,
      limits: limitItems(c.argumentLimits),
      limitLines: limitLines(c.argumentLimits).join("\n"),
    }));
  const offeredWriteTools = () => writeToolChoices(web.catalogue.tools).map((tool) => tool.name);

  const page = (
    current: SignedIn,
    jar: CookieJar,
    extra: { error?: string; form?: KeysForm; connectionError?: ConnectionLimitsError } = {},
  ) => {
    const offer = offerFor(current);
    return KeysPage({
      viewer: viewerOf(current),
      csrf: csrfToken(jar, web.secure),
      keys: keyRows(current.user.id),
      connections: connectionRows(listConnections(web.db, current.user.id)),
      // The admin's own are listed once, above: here, everyone else's.
      othersConnections: actsAsAdmin(current)
        ? connectionRows(listConnections(web.db, null).filter((c) => c.userId !== current.user.id))
        : null,
      offer,
      groups: toolGroups(offer.tools),
      keySession: keySessionNote(current, offer),
      ...extra,
    });
  };

  // Every form post here: the form token first, then a session (both refusals link back to /keys).
  // A new object per route: Elysia consumes the options it is given.
  const post = () => ({ form: "/keys", signedIn: true }) as const;

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      // Pages that list or show keys must never be stored by a cache.
      set.headers["cache-control"] = "no-store";
    })
    .get("/keys", ({ current, cookie }) => page(current, cookie), { signedIn: true })
    .post(
      "/keys",
      ({ body, cookie, current, audit, set }) => {
        const form: KeysForm = {
          name: field(body, "name"),
          choice: field(body, "access"),
          expiresIn: field(body, "expires_in"),
          ticked: fieldValues(body, "tool"),
          limits: field(body, "argument_limits"),
        };
        const fail = (error: string) => {
          set.status = 400;
          return page(current, cookie, { error, form });
        };
        if (!expiryChoices.some((c) => c.value === form.expiresIn)) return fail("Choose when the key expires.");
        const read = accessFromForm(body, offerFor(current));
        if (!read.ok) return fail(read.error);
        const limits = limitsFromForm(body, read.access, offeredWriteTools(), ceilingOf(current));
        if (!limits.ok) return fail(limits.error);
        const now = web.now();
        try {
          const { apiKey, token } = createApiKey(web.db, {
            userId: current.user.id,
            name: form.name,
            access: read.access.level,
            tools: read.access.tools,
            argumentLimits: limits.limits,
            expiresInSeconds: form.expiresIn === "never" ? null : parseDurationSeconds(form.expiresIn),
            now,
            createdWith: current.apiKey,
          });
          web.log.info("api key created", { user_id: current.user.id, api_key_id: apiKey.id });
          const detail = {
            name: apiKey.name,
            access: read.access.level,
            tools: read.access.tools ?? "all",
            ...(limits.limits && { argument_limits: limits.limits }),
            via: "web",
            ...(current.apiKey && { created_with_key: current.apiKey.id }),
          };
          audit.record({ event: "key_created", outcome: "ok", userId: current.user.id, apiKeyId: apiKey.id, detail });
          return KeyCreatedPage({
            viewer: viewerOf(current),
            csrf: csrfToken(cookie, web.secure),
            name: apiKey.name,
            token,
            rotated: false,
            mcpUrl: mcpResourceUrl(web.config.publicUrl),
          });
        } catch (error) {
          if (error instanceof ApiKeyError) return fail(error.message);
          throw error;
        }
      },
      post(),
    )
    .post(
      "/keys/:id/revoke",
      ({ cookie, current, audit, set, params, redirect }) => {
        const userId = current.user.id;
        if (!revokeApiKey(web.db, { id: params.id, ownerId: userId, now: web.now() })) {
          set.status = 404;
          return MessagePage({
            title: "No such key",
            message: "That key does not exist or is already revoked.",
            link: { href: "/keys", label: "Back to API keys" },
          });
        }
        web.log.info("api key revoked", { user_id: userId, api_key_id: params.id });
        audit.record({ event: "key_revoked", outcome: "ok", userId, apiKeyId: params.id, detail: { via: "web" } });
        // Revoking the key this session was opened with ends the session too.
        return redirect(signedIn(web, cookie) ? "/keys" : "/sign-in", 303);
      },
      post(),
    )
    .post(
      "/keys/:id/rotate",
      ({ cookie, current, audit, set, params }) => {
        const userId = current.user.id;
        const target = findApiKeyWithUser(web.db, params.id)?.apiKey;
        if (
          target &&
          target.userId === userId &&
          !withinCeiling(
            { level: accessLevelOf(target.scope), tools: target.tools, limits: target.argumentLimits },
            ceilingOf(current),
          )
        ) {
          set.status = 403;
          const message =
            "The API key you signed in with has less access than this key, so this session cannot rotate it: sign in with your password or an identity provider.";
          return MessagePage({
            title: "More access than your key",
            message,
            link: { href: "/keys", label: "Back to API keys" },
          });
        }
        const rotated = rotateApiKey(web.db, {
          id: params.id,
          ownerId: userId,
          now: web.now(),
          createdWith: current.apiKey,
        });
        if (!rotated) {
          set.status = 404;
          return MessagePage({
            title: "No such key",
            message: "That key does not exist or is already revoked.",
            link: { href: "/keys", label: "Back to API keys" },
          });
        }
        web.log.info("api key rotated", { user_id: userId, api_key_id: params.id, new_api_key_id: rotated.apiKey.id });
        const detail = {
          new_api_key_id: rotated.apiKey.id,
          via: "web",
          ...(current.apiKey && { created_with_key: current.apiKey.id }),
        };
        audit.record({ event: "key_rotated", outcome: "ok", userId, apiKeyId: params.id, detail });
        return KeyCreatedPage({
          viewer: viewerOf(current),
          csrf: csrfToken(cookie, web.secure),
          name: rotated.apiKey.name,
          token: rotated.token,
          rotated: true,
          mcpUrl: mcpResourceUrl(web.config.publicUrl),
        });
      },
      post(),
    )
    .post(
      "/connections/:id/limits",
      ({ body, cookie, current, audit, set, params, redirect }) => {
        // Only the owner changes a connection's limits; an admin can revoke it instead.
        const grant = ownConnection(web.db, params.id, current.user.id);
        if (!grant) {
          set.status = 404;
          return MessagePage({
            title: "No such connection",
            message: "That connection does not exist, is revoked, or is not yours.",
            link: { href: "/keys", label: "Back to API keys" },
          });
        }
        const access = { level: accessLevelOf(grant.scope), tools: grant.tools };
        const limits = limitsFromForm(body, access, offeredWriteTools(), ceilingOf(current));
        if (!limits.ok) {
          set.status = 400;
          return page(current, cookie, {
            connectionError: { id: grant.id, message: limits.error, posted: field(body, "argument_limits") },
          });
        }
        setConnectionLimits(web.db, grant.id, limits.limits);
        web.log.info("connection limits changed", { user_id: current.user.id, grant_id: grant.id });
        const detail = { argument_limits: limits.limits ?? "none", via: "web" };
        audit.record({
          event: "connection_limits_changed",
          outcome: "ok",
          userId: current.user.id,
          clientId: grant.clientId,
          grantId: grant.id,
          detail,
        });
        return redirect("/keys", 303);
      },
      post(),
    )
    .post(
      "/connections/:id/revoke",
      ({ current, audit, set, params, redirect }) => {
        const { user } = current;
        // The owner ends their own connection; an admin (signed in as one) can end anyone's.
        if (
          !revokeConnection(web.db, { id: params.id, ownerId: actsAsAdmin(current) ? null : user.id, now: web.now() })
        ) {
          set.status = 404;
          return MessagePage({
            title: "No such connection",
            message: "That connection does not exist or is already revoked.",
            link: { href: "/keys", label: "Back to API keys" },
          });
        }
        web.log.info("connection revoked", { user_id: user.id, grant_id: params.id });
        audit.record({
          event: "connection_revoked",
          outcome: "ok",
          userId: user.id,
          grantId: params.id,
          detail: { via: "web" },
        });
        return redirect("/keys", 303);
      },
      post(),
    );
}

/** The one sentence a session opened with an API key reads on the keys page; nothing for other sessions. */
function keySessionNote(current: SignedIn, offer: AccessOffer): string | undefined {
  if (current.apiKey === null) return undefined;
  const level = offer.full ? "Full" : offer.chosen ? "Full, some write tools" : "Read-only";
  return `You signed in with the API key "${current.apiKey.name}": keys you create and apps you approve get no more than its access (${level}), keys you create end when it does, and admin pages need a sign-in with a password or an identity provider.`;
}
