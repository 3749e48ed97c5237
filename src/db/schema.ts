import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";

// Every *_at column holds unix seconds. Every secret column holds a SHA-256
// digest (or an argon2id hash for passwords), never the secret itself.

// A person, or a service account: a named, non-human principal that never
// signs in and reaches /mcp only through its client_credentials client.
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** A person's email; for a service account a unique placeholder (service accounts have no email). */
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash"),
  isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
  disabledAt: integer("disabled_at"),
  kind: text("kind", { enum: ["person", "service"] })
    .notNull()
    .default("person"),
  /** A service account's name (unique among service accounts, enforced by the service); null for people. */
  name: text("name"),
});

// A person's account at an identity provider (GitHub, Google, any OpenID
// Connect issuer), linked to a Gatehouse account on first sign-in.
export const identityLinks = sqliteTable(
  "identity_links",
  {
    /** The provider's id from the config file. */
    provider: text("provider").notNull(),
    /** The provider's stable user id (OIDC `sub`, GitHub's numeric id). */
    subject: text("subject").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The verified email the provider gave at the last sign-in. */
    email: text("email").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.subject] }), index("identity_links_user_idx").on(t.userId)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    secretHash: text("secret_hash").notNull(),
    scope: text("scope").notNull(),
    /** JSON array of the write tools a full-access key may call; null: every write tool. */
    tools: text("tools", { mode: "json" }).$type<string[]>(),
    /** JSON {tool: {argument: [globs]}}: the argument values the key may call those tools with (src/mcp/argument-gates.ts); null: no limits. */
    argumentLimits: text("argument_limits", { mode: "json" }).$type<ArgumentLimits>(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
    /**
     * The key whose sign-in session created (or rotated) this one; null for
     * keys made after a password or provider sign-in, or with the CLI.
     * Revoking that key revokes this one too: a leaked key cannot leave a
     * successor behind.
     */
    createdWithKeyId: text("created_with_key_id"),
  },
  (t) => [index("api_keys_user_idx").on(t.userId), index("api_keys_created_with_idx").on(t.createdWithKeyId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    secretHash: text("secret_hash").notNull(),
    // Set when the session was opened by pasting an API key: revoking or
    // rotating that key ends the session.
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_api_key_idx").on(t.apiKeyId)],
);

/** How a client came to be (oauth_clients.kind): registered by DCR, added on a clients page, a metadata document, a service account's. */
export const clientKinds = ["dcr", "manual", "cimd", "service"] as const;
/** RFC 6749 §2.3 and RFC 7591 §2: how a client authenticates at the token endpoint. */
export const tokenEndpointAuthMethods = ["none", "client_secret_post", "client_secret_basic"] as const;

// OAuth 2.1. A client is registered by DCR (RFC 7591), by an admin, or is a
// Client ID Metadata Document whose https URL is its client_id.
export const oauthClients = sqliteTable(
  "oauth_clients",
  {
    id: text("id").primaryKey(),
    /** service: a service account's client_credentials client (its grant names the account). */
    kind: text("kind", { enum: clientKinds }).notNull(),
    name: text("name").notNull(),
    /** JSON array of exact redirect URIs. */
    redirectUris: text("redirect_uris").notNull(),
    tokenEndpointAuthMethod: text("token_endpoint_auth_method", {
      enum: tokenEndpointAuthMethods,
    }).notNull(),
    secretHash: text("secret_hash"),
    clientUri: text("client_uri"),
    /** DCR: SHA-256 of the normalized registration, to hand a re-registering client its existing id. */
    fingerprint: text("fingerprint"),
    /** CIMD: when the cached document must be fetched again. */
    metadataExpiresAt: integer("metadata_expires_at"),
    /** CIMD: when the cached document was last fetched and found valid (the 7-day last good copy, cimd.ts). */
    metadataFetchedAt: integer("metadata_fetched_at"),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    /**
     * The person who registered it on their clients page (/clients); null for
     * clients registered by DCR, a metadata document, an admin or a service
     * account. Deleting the person deletes their clients, and so every grant
     * and token issued to them: nobody would answer any more for where the
     * redirect URIs send other people's codes, or for who holds the secret.
     */
    ownerUserId: text("owner_user_id").references(() => users.id, { onDelete: "cascade" }),
  },
  (t) => [index("oauth_clients_fingerprint_idx").on(t.fingerprint), index("oauth_clients_owner_idx").on(t.ownerUserId)],
);

// An authorization request waiting for the user's decision on the consent page.
export const oauthPendingRequests = sqliteTable("oauth_pending_requests", {
  id: text("id").primaryKey(),
  clientId: text("client_id")
    .notNull()
    .references(() => oauthClients.id, { onDelete: "cascade" }),
  sessionId: text("session_id")
    .notNull()
    .references(() => sessions.id, { onDelete: "cascade" }),
  redirectUri: text("redirect_uri").notNull(),
  scope: text("scope").notNull(),
  state: text("state"),
  codeChallenge: text("code_challenge").notNull(),
  resource: text("resource").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

// An approved authorization: a "connection", listed on the user's API keys page.
export const oauthGrants = sqliteTable(
  "oauth_grants",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientId: text("client_id")
      .notNull()
      .references(() => oauthClients.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    /** JSON array of the write tools ticked on the consent page; null: every write tool. */
    tools: text("tools", { mode: "json" }).$type<string[]>(),
    /** JSON {tool: {argument: [globs]}}, as for api_keys; set from the approving key's, editable by the owner afterwards. */
    argumentLimits: text("argument_limits", { mode: "json" }).$type<ArgumentLimits>(),
    resource: text("resource").notNull(),
    /** The API key the approving session was signed in with: revoking the key revokes the grant. */
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    index("oauth_grants_user_idx").on(t.userId),
    index("oauth_grants_api_key_idx").on(t.apiKeyId),
    // client_credentials finds a service account by its client; deleting a client cascades by it.
    index("oauth_grants_client_idx").on(t.clientId),
  ],
);

export const oauthCodes = sqliteTable("oauth_codes", {
  id: text("id").primaryKey(),
  secretHash: text("secret_hash").notNull(),
  grantId: text("grant_id")
    .notNull()
    .references(() => oauthGrants.id, { onDelete: "cascade" }),
  clientId: text("client_id").notNull(),
  redirectUri: text("redirect_uri").notNull(),
  codeChallenge: text("code_challenge").notNull(),
  scope: text("scope").notNull(),
  resource: text("resource").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

// Access and refresh tokens. A refresh token's successors are derived from
// its own secret, so within the grace window the same pair can be handed
// out again without any secret being stored.
export const oauthTokens = sqliteTable(
  "oauth_tokens",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["access", "refresh"] }).notNull(),
    secretHash: text("secret_hash").notNull(),
    grantId: text("grant_id")
      .notNull()
      .references(() => oauthGrants.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** Refresh tokens: when this one was exchanged, and for which pair. */
    rotatedAt: integer("rotated_at"),
    nextRefreshId: text("next_refresh_id"),
    nextAccessId: text("next_access_id"),
  },
  (t) => [index("oauth_tokens_grant_idx").on(t.grantId), index("oauth_tokens_expires_idx").on(t.expiresAt)],
);

// The audit log: one row per tool call and per security event. No foreign
// keys: an entry outlives the user, key, client or grant it names. Purged
// after GATEHOUSE_AUDIT_RETENTION.
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    /** One of src/audit/entry.ts auditEvents: tool_call, token_issued, …, consent_denied (docs/storage.md). */
    event: text("event").notNull(),
    /** ok, error, denied, timeout, cancelled, input_required (src/audit/entry.ts). */
    outcome: text("outcome").notNull(),
    userId: text("user_id"),
    /** The OAuth client, or null for API keys and the web. */
    clientId: text("client_id"),
    apiKeyId: text("api_key_id"),
    grantId: text("grant_id"),
    tool: text("tool"),
    upstream: text("upstream"),
    durationMs: integer("duration_ms"),
    requestId: text("request_id"),
    ip: text("ip"),
    /** JSON: arguments (per GATEHOUSE_AUDIT_ARGUMENTS), error message, email tried, … */
    detail: text("detail"),
  },
  (t) => [
    index("audit_events_at_idx").on(t.at),
    index("audit_events_user_idx").on(t.userId, t.at),
    index("audit_events_client_idx").on(t.clientId, t.at),
    index("audit_events_tool_idx").on(t.tool, t.at),
  ],
);

// One row whose counter rises, by triggers (migration 0003), whenever a
// credential, grant, client or user changes in a way that could change who a
// bearer token authenticates as. The /mcp bearer check caches what it looked
// up and trusts the cache only while this number is unchanged, so revoking in
// any process (the web, the CLI, another instance) counts on the next request.
export const authEpoch = sqliteTable("auth_epoch", {
  id: integer("id").primaryKey(),
  n: integer("n").notNull(),
});

// RFC 8628 device authorization: a device code the client polls with, and a
// short user code a person types on /device. Both stored as SHA-256 digests.
export const oauthDeviceCodes = sqliteTable(
  "oauth_device_codes",
  {
    id: text("id").primaryKey(),
    /** The device_code's secret part. */
    secretHash: text("secret_hash").notNull(),
    /** SHA-256 of the normalized user code (upper case, no separator). */
    userCodeHash: text("user_code_hash").notNull().unique(),
    clientId: text("client_id")
      .notNull()
      .references(() => oauthClients.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    resource: text("resource").notNull(),
    /** pending, approved, denied or used (tokens handed out once). */
    status: text("status", { enum: ["pending", "approved", "denied", "used"] }).notNull(),
    /** Set when approved: the grant the tokens belong to. */
    grantId: text("grant_id").references(() => oauthGrants.id, { onDelete: "cascade" }),
    /** Seconds the client must wait between polls; raised by slow_down. */
    interval: integer("interval").notNull(),
    lastPolledAt: integer("last_polled_at"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("oauth_device_codes_expires_idx").on(t.expiresAt)],
);

// The polling bridge for clients that cannot receive a redirect: the
// authorization code lands on Gatehouse's own callback and waits here, keyed
// by the client's state, until the client polls for it (once).
export const oauthBridgeCodes = sqliteTable(
  "oauth_bridge_codes",
  {
    /** SHA-256 of the client's state. */
    stateHash: text("state_hash").primaryKey(),
    clientId: text("client_id")
      .notNull()
      .references(() => oauthClients.id, { onDelete: "cascade" }),
    /**
     * The authorization code sealed with a key derived from the state
     * (src/oauth/bridge-code.ts); null once handed out or for a denial.
     */
    code: text("code"),
    /** An OAuth error instead of a code (access_denied). */
    error: text("error"),
    lastPolledAt: integer("last_polled_at"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [index("oauth_bridge_codes_expires_idx").on(t.expiresAt)],
);

// Invitations: a single-use, expiring link an admin hands to a person.
export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    secretHash: text("secret_hash").notNull(),
    /** Lowercased; the account the link creates has this email. */
    email: text("email").notNull(),
    isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    /** The account made with it. */
    userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("invitations_email_idx").on(t.email)],
);

// The first-admin setup links (src/accounts/setup-link.ts): the SHA-256 of
// each link's secret, one row per server start while no admin exists, so a
// link logged by one instance works on every instance. Creating the first
// admin deletes them all.
export const setupTokens = sqliteTable("setup_tokens", {
  hash: text("hash").primaryKey(),
  createdAt: integer("created_at").notNull(),
});
