import { Elysia } from "elysia";
import type { SignedIn } from "../accounts/sessions.ts";
import { parseDurationSeconds } from "../config.ts";
import { findApiKeyWithUser, listLiveApiKeys, type ApiKey } from "../keys/api-keys-store.ts";
import {
  accessLevelOf,
  createApiKey,
  endsWithApiKey,
  revokeApiKey,
  rotateApiKey,
  ApiKeyError,
} from "../keys/api-keys.ts";
import { accessOffer, toolGroups, withinCeiling, type AccessOffer } from "../mcp/access.ts";
import { writeToolChoices } from "../mcp/tool-permissions.ts";
import { limitItems, limitLines } from "../mcp/argument-gates.ts";
import { findConnection, listConnections, setConnectionLimits, type Connection } from "../oauth/connections.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import { KeyCreatedPage } from "../../views/key-created.tsx";
import {
  expiryChoices,
  KeysPage,
  type ConnectionLimitsError,
  type ConnectionRow,
  type KeyRow,
  type KeysForm,
} from "../../views/keys.tsx";
import { ConfirmPage } from "../../views/confirm.tsx";
import { MessagePage } from "../../views/message.tsx";
import { accessFromForm } from "./access-form.ts";
import { limitsFromForm } from "./limits-form.ts";
import { setFlash } from "./flash.ts";
import { plural } from "./wording.ts";
import { actsAsAdmin, ceilingOf, field, fieldValues, signedIn } from "./context.ts";
import { applyListQuery, readListQuery, type ListSpec } from "./list-query.ts";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards, SignedInContext } from "../http/page-guards.ts";

// The API keys page: every signed-in user manages their own keys here, and
// their connections (approved OAuth authorizations); an admin sees everyone's.
// A session opened by pasting an API key acts with at most that key's access:
// it creates and rotates keys only at or below it, and keys it makes end
// with it (api_keys.created_with_key_id).
const keyList: ListSpec<KeyRow> = {
  columns: {
    name: { value: (k) => k.name, first: "asc" },
    created: { value: (k) => k.createdAt, first: "desc" },
    last_used: { value: (k) => k.lastUsedAt, first: "desc" },
    expires: { value: (k) => k.expiresAt, first: "asc" },
  },
  fallback: { sort: "created", dir: "desc" },
  text: (k) => [k.name, k.id],
};

export function keysRoutes(web: WebDeps, pages: PageGuards) {
  const keyRows = (userId: string): KeyRow[] =>
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
    { current, viewer, csrf }: SignedInContext,
    extra: { error?: string; form?: KeysForm; connectionError?: ConnectionLimitsError } = {},
    search = new URLSearchParams(),
  ) => {
    const offer = offerFor(current);
    const list = readListQuery(search, keyList);
    return KeysPage({
      viewer,
      csrf,
      keys: applyListQuery(keyRows(current.user.id), list, keyList),
      list: { ...list, path: "/keys" },
      connections: connectionRows(listConnections(web.db, current.user.id)),
      // The admin's own are listed once, above: here, everyone else's.
      othersConnections: actsAsAdmin(current)
        ? connectionRows(listConnections(web.db, null).filter((c) => c.userId !== current.user.id))
        : null,
      now: web.now(),
      offer,
      groups: toolGroups(offer.tools),
      keySession: keySessionNote(current, offer),
      ...extra,
    });
  };

  /** The signed-in person's own key, if it is not revoked (an expired key can still be revoked). */
  const ownLiveKey = (id: string, userId: string) => {
    const key = findApiKeyWithUser(web.db, id)?.apiKey;
    return key && key.userId === userId && key.revokedAt === null ? key : null;
  };

  /** What else a key takes with it when it ends (api-keys.ts revokeWithDescendants), revoked or rotated. */
  const endsWithKey = async (keyId: string, current: SignedIn) => {
    const { keys, apps } = await endsWithApiKey(web.db, keyId);
    return [
      ...(keys + apps > 0
        ? [`What was made while signed in with it ends too: ${plural(keys, "key")} and ${plural(apps, "app")}.`]
        : []),
      ...(current.apiKey?.id === keyId ? ["You signed in with this key, so you will be signed out."] : []),
    ];
  };

  /** Why this session may not rotate its own key `key`: it was opened with a key of less access. */
  /** Why this key cannot be rotated by this session, as the status and page to answer; null when it can. */
  const rotateRefusal = (key: ApiKey, current: SignedIn) => {
    const back = { href: "/keys", label: "Back to API keys" };
    // An expired key is not brought back to life with a fresh lifetime: it can only be revoked.
    if (key.expiresAt !== null && key.expiresAt <= web.now()) {
      const message = `“${key.name}” has expired, so it cannot be rotated: revoke it and create a new key.`;
      return { status: 409, page: MessagePage({ title: "Key expired", message, link: back }) };
    }
    const access = { level: accessLevelOf(key.scope), tools: key.tools, limits: key.argumentLimits };
    if (withinCeiling(access, ceilingOf(current))) return null;
    const message =
      "The API key you signed in with has less access than this key, so this session cannot rotate it: sign in with your password or an identity provider.";
    return { status: 403, page: MessagePage({ title: "More access than your key", message, link: back }) };
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
    .get("/keys", (g) => page(g, {}, new URL(g.request.url).searchParams), { signedIn: true })
    .post(
      "/keys",
      async ({ body, current, viewer, csrf, audit, set }) => {
        const form: KeysForm = {
          name: field(body, "name"),
          choice: field(body, "access"),
          expiresIn: field(body, "expires_in"),
          ticked: fieldValues(body, "tool"),
          limits: field(body, "argument_limits"),
        };
        const fail = (error: string) => {
          set.status = 400;
          return page({ current, viewer, csrf }, { error, form });
        };
        if (!expiryChoices.some((c) => c.value === form.expiresIn)) return fail("Choose when the key expires.");
        const read = accessFromForm(body, offerFor(current));
        if (!read.ok) return fail(read.error);
        const limits = limitsFromForm(body, read.access, offeredWriteTools(), ceilingOf(current));
        if (!limits.ok) return fail(limits.error);
        const now = web.now();
        try {
          const { apiKey, token } = await createApiKey(web.db, {
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
            viewer,
            csrf,
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
    .get(
      "/keys/:id/revoke",
      async ({ current, viewer, csrf, params, set }) => {
        const key = ownLiveKey(params.id, current.user.id);
        if (!key) {
          set.status = 404;
          return noSuchKey();
        }
        return ConfirmPage({
          viewer,
          csrf,
          question: `Revoke “${key.name}”?`,
          consequences: [
            "Scripts and apps using it get 401 at once. This cannot be undone.",
            ...(await endsWithKey(key.id, current)),
          ],
          action: `/keys/${key.id}/revoke`,
          confirmLabel: "Revoke key",
          cancel: "/keys",
          danger: true,
        });
      },
      { signedIn: true },
    )
    .post(
      "/keys/:id/revoke",
      async ({ cookie, current, audit, set, params, redirect }) => {
        const userId = current.user.id;
        const key = ownLiveKey(params.id, userId);
        if (!key || !(await revokeApiKey(web.db, { id: key.id, ownerId: userId, now: web.now() }))) {
          set.status = 404;
          return noSuchKey();
        }
        web.log.info("api key revoked", { user_id: userId, api_key_id: params.id });
        audit.record({ event: "key_revoked", outcome: "ok", userId, apiKeyId: params.id, detail: { via: "web" } });
        // Revoking the key this session was opened with ends the session too.
        if (!signedIn(web, cookie)) return redirect("/sign-in", 303);
        setFlash(cookie, web.secure, `Revoked “${key.name}”: anything using it now gets 401.`);
        return redirect("/keys", 303);
      },
      post(),
    )
    .get(
      "/keys/:id/rotate",
      async ({ current, viewer, csrf, params, set }) => {
        const key = ownLiveKey(params.id, current.user.id);
        if (!key) {
          set.status = 404;
          return noSuchKey();
        }
        const refused = rotateRefusal(key, current);
        if (refused) {
          set.status = refused.status;
          return refused.page;
        }
        return ConfirmPage({
          viewer,
          csrf,
          question: `Rotate “${key.name}”?`,
          consequences: [
            "Its current secret stops working at once: scripts and apps using it get 401 until they have the new one.",
            "You get a new secret under the same name, access and lifetime, shown once to copy.",
            ...(await endsWithKey(key.id, current)),
          ],
          action: `/keys/${key.id}/rotate`,
          confirmLabel: "Rotate key",
          cancel: "/keys",
          danger: false,
        });
      },
      { signedIn: true },
    )
    .post(
      "/keys/:id/rotate",
      async ({ current, viewer, csrf, audit, set, params }) => {
        const userId = current.user.id;
        const target = ownLiveKey(params.id, userId);
        const refused = target && rotateRefusal(target, current);
        if (refused) {
          set.status = refused.status;
          return refused.page;
        }
        // A resubmitted form names the old key, revoked by the first: 404, and nothing more happens.
        const rotated = await rotateApiKey(web.db, {
          id: params.id,
          ownerId: userId,
          now: web.now(),
          createdWith: current.apiKey,
        });
        if (!rotated) {
          set.status = 404;
          return noSuchKey();
        }
        web.log.info("api key rotated", { user_id: userId, api_key_id: params.id, new_api_key_id: rotated.apiKey.id });
        const detail = {
          new_api_key_id: rotated.apiKey.id,
          via: "web",
          ...(current.apiKey && { created_with_key: current.apiKey.id }),
        };
        audit.record({ event: "key_rotated", outcome: "ok", userId, apiKeyId: params.id, detail });
        // Not Post/Redirect/Get: the new secret is shown once, as this answer. A
        // redirect would need it kept somewhere to show it after, and only its
        // SHA-256 is ever stored. So the report rides on this page.
        const flash = `Rotated “${rotated.apiKey.name}”: the old secret has stopped working.`;
        return KeyCreatedPage({
          viewer: { ...viewer, flash },
          csrf,
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
      async ({ body, cookie, current, viewer, csrf, audit, set, params, redirect }) => {
        // Only the owner changes a connection's limits; an admin can revoke it instead.
        const connection = await findConnection(web.db, params.id, current.user.id);
        if (!connection) {
          set.status = 404;
          return MessagePage({
            title: "No such connection",
            message: "That connection does not exist, is revoked, or is not yours.",
            link: { href: "/keys", label: "Back to API keys" },
          });
        }
        const access = { level: connection.access, tools: connection.tools };
        const limits = limitsFromForm(body, access, offeredWriteTools(), ceilingOf(current));
        if (!limits.ok) {
          set.status = 400;
          return page(
            { current, viewer, csrf },
            {
              connectionError: { id: connection.id, message: limits.error, posted: field(body, "argument_limits") },
            },
          );
        }
        setConnectionLimits(web.db, connection.id, limits.limits);
        web.log.info("connection limits changed", { user_id: current.user.id, grant_id: connection.id });
        const detail = { argument_limits: limits.limits ?? "none", via: "web" };
        audit.record({
          event: "connection_limits_changed",
          outcome: "ok",
          userId: current.user.id,
          clientId: connection.clientId,
          grantId: connection.id,
          detail,
        });
        setFlash(cookie, web.secure, `Saved the argument limits of “${connection.name}”.`);
        return redirect("/keys", 303);
      },
      post(),
    );
}

function noSuchKey(): string {
  return MessagePage({
    title: "No such key",
    message: "That key does not exist or is already revoked.",
    link: { href: "/keys", label: "Back to API keys" },
  });
}

/** The one sentence a session opened with an API key reads on the keys page; nothing for other sessions. */
function keySessionNote(current: SignedIn, offer: AccessOffer): string | undefined {
  if (current.apiKey === null) return undefined;
  const level = offer.full ? "Full" : offer.chosen ? "Full, some write tools" : "Read-only";
  return `You signed in with the API key "${current.apiKey.name}": keys you create and apps you approve get no more than its access (${level}), keys you create end when it does, and admin pages need a sign-in with a password or an identity provider.`;
}
