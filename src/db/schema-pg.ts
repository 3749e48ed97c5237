import { bigint, boolean, customType, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import { clientKinds, tokenEndpointAuthMethods } from "./schema.ts";

// The PostgreSQL twin of schema.ts (issue 16): the same exported names, table
// names, column names, keys and indexes, so a store can take either as
// `tables`; test/db/schema-parity.test.ts holds the two together. The comments
// on each column live in schema.ts. What differs is only the types: *_at
// columns are bigint unix seconds (read as numbers), flags are boolean, and
// the columns SQLite keeps as JSON text are jsonb. Migrations: drizzle-pg/.

/** Unix seconds; 64 bits, as SQLite's integer, and read back as a JS number. */
const seconds = (name: string) => bigint(name, { mode: "number" });

/**
 * A jsonb column whose value goes to Bun's SQL client as it is. Drizzle's own
 * jsonb() hands the driver JSON.stringify's text, and Bun encodes a string
 * bound to a jsonb parameter of a prepared statement as a JSON string: the
 * column held "[\"a\"]", a string to every jsonb operator, though it read back
 * alike (drizzle-team/drizzle-orm#4942, fixed only in Drizzle 1.0's betas).
 * Bun encodes an array or object as JSON itself, prepared or not, and parses
 * jsonb when reading; these columns hold only arrays and objects, or SQL NULL
 * (which Drizzle passes as null).
 */
const jsonb = customType<{ data: unknown }>({ dataType: () => "jsonb" });

export const users = pgTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash"),
  isAdmin: boolean("is_admin").notNull().default(false),
  createdAt: seconds("created_at").notNull(),
  disabledAt: seconds("disabled_at"),
  kind: text("kind", { enum: ["person", "service"] })
    .notNull()
    .default("person"),
  name: text("name"),
});

export const identityLinks = pgTable(
  "identity_links",
  {
    provider: text("provider").notNull(),
    subject: text("subject").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    createdAt: seconds("created_at").notNull(),
    lastUsedAt: seconds("last_used_at"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.subject] }), index("identity_links_user_idx").on(t.userId)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    secretHash: text("secret_hash").notNull(),
    scope: text("scope").notNull(),
    tools: jsonb("tools").$type<string[]>(),
    argumentLimits: jsonb("argument_limits").$type<ArgumentLimits>(),
    createdAt: seconds("created_at").notNull(),
    expiresAt: seconds("expires_at"),
    lastUsedAt: seconds("last_used_at"),
    revokedAt: seconds("revoked_at"),
    createdWithKeyId: text("created_with_key_id"),
  },
  (t) => [index("api_keys_user_idx").on(t.userId), index("api_keys_created_with_idx").on(t.createdWithKeyId)],
);

export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    secretHash: text("secret_hash").notNull(),
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "cascade" }),
    createdAt: seconds("created_at").notNull(),
    expiresAt: seconds("expires_at").notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_api_key_idx").on(t.apiKeyId)],
);

export const oauthClients = pgTable(
  "oauth_clients",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: clientKinds }).notNull(),
    name: text("name").notNull(),
    redirectUris: text("redirect_uris").notNull(),
    tokenEndpointAuthMethod: text("token_endpoint_auth_method", {
      enum: tokenEndpointAuthMethods,
    }).notNull(),
    secretHash: text("secret_hash"),
    clientUri: text("client_uri"),
    fingerprint: text("fingerprint"),
    metadataExpiresAt: seconds("metadata_expires_at"),
    metadataFetchedAt: seconds("metadata_fetched_at"),
    createdAt: seconds("created_at").notNull(),
    lastUsedAt: seconds("last_used_at"),
    ownerUserId: text("owner_user_id").references(() => users.id, { onDelete: "cascade" }),
  },
  (t) => [index("oauth_clients_fingerprint_idx").on(t.fingerprint), index("oauth_clients_owner_idx").on(t.ownerUserId)],
);

export const oauthPendingRequests = pgTable("oauth_pending_requests", {
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
  createdAt: seconds("created_at").notNull(),
  expiresAt: seconds("expires_at").notNull(),
});

export const oauthGrants = pgTable(
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
    tools: jsonb("tools").$type<string[]>(),
    argumentLimits: jsonb("argument_limits").$type<ArgumentLimits>(),
    resource: text("resource").notNull(),
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "cascade" }),
    createdAt: seconds("created_at").notNull(),
    lastUsedAt: seconds("last_used_at"),
    revokedAt: seconds("revoked_at"),
  },
  (t) => [
    index("oauth_grants_user_idx").on(t.userId),
    index("oauth_grants_api_key_idx").on(t.apiKeyId),
    index("oauth_grants_client_idx").on(t.clientId),
  ],
);

export const oauthCodes = pgTable("oauth_codes", {
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
  createdAt: seconds("created_at").notNull(),
  expiresAt: seconds("expires_at").notNull(),
  usedAt: seconds("used_at"),
});

export const oauthTokens = pgTable(
  "oauth_tokens",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["access", "refresh"] }).notNull(),
    secretHash: text("secret_hash").notNull(),
    grantId: text("grant_id")
      .notNull()
      .references(() => oauthGrants.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    createdAt: seconds("created_at").notNull(),
    expiresAt: seconds("expires_at").notNull(),
    revokedAt: seconds("revoked_at"),
    rotatedAt: seconds("rotated_at"),
    nextRefreshId: text("next_refresh_id"),
    nextAccessId: text("next_access_id"),
  },
  (t) => [index("oauth_tokens_grant_idx").on(t.grantId), index("oauth_tokens_expires_idx").on(t.expiresAt)],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    // SQLite's INTEGER PRIMARY KEY AUTOINCREMENT; "by default" so a copy of a
    // SQLite database can keep its ids.
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    at: seconds("at").notNull(),
    event: text("event").notNull(),
    outcome: text("outcome").notNull(),
    userId: text("user_id"),
    clientId: text("client_id"),
    apiKeyId: text("api_key_id"),
    grantId: text("grant_id"),
    tool: text("tool"),
    upstream: text("upstream"),
    durationMs: integer("duration_ms"),
    requestId: text("request_id"),
    ip: text("ip"),
    detail: text("detail"),
  },
  (t) => [
    index("audit_events_at_idx").on(t.at),
    index("audit_events_user_idx").on(t.userId, t.at),
    index("audit_events_client_idx").on(t.clientId, t.at),
    index("audit_events_tool_idx").on(t.tool, t.at),
  ],
);

// Raised by one PL/pgSQL trigger function (drizzle-pg/0001_auth_epoch.sql).
export const authEpoch = pgTable("auth_epoch", {
  id: integer("id").primaryKey(),
  n: bigint("n", { mode: "number" }).notNull(),
});

export const oauthDeviceCodes = pgTable(
  "oauth_device_codes",
  {
    id: text("id").primaryKey(),
    secretHash: text("secret_hash").notNull(),
    userCodeHash: text("user_code_hash").notNull().unique(),
    clientId: text("client_id")
      .notNull()
      .references(() => oauthClients.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    resource: text("resource").notNull(),
    status: text("status", { enum: ["pending", "approved", "denied", "used"] }).notNull(),
    grantId: text("grant_id").references(() => oauthGrants.id, { onDelete: "cascade" }),
    interval: integer("interval").notNull(),
    lastPolledAt: seconds("last_polled_at"),
    createdAt: seconds("created_at").notNull(),
    expiresAt: seconds("expires_at").notNull(),
  },
  (t) => [index("oauth_device_codes_expires_idx").on(t.expiresAt)],
);

export const oauthBridgeCodes = pgTable(
  "oauth_bridge_codes",
  {
    stateHash: text("state_hash").primaryKey(),
    clientId: text("client_id")
      .notNull()
      .references(() => oauthClients.id, { onDelete: "cascade" }),
    code: text("code"),
    error: text("error"),
    lastPolledAt: seconds("last_polled_at"),
    createdAt: seconds("created_at").notNull(),
    expiresAt: seconds("expires_at").notNull(),
    deliveredAt: seconds("delivered_at"),
  },
  (t) => [index("oauth_bridge_codes_expires_idx").on(t.expiresAt)],
);

export const invitations = pgTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    secretHash: text("secret_hash").notNull(),
    email: text("email").notNull(),
    isAdmin: boolean("is_admin").notNull().default(false),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: seconds("created_at").notNull(),
    expiresAt: seconds("expires_at").notNull(),
    usedAt: seconds("used_at"),
    userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
    revokedAt: seconds("revoked_at"),
  },
  (t) => [index("invitations_email_idx").on(t.email)],
);

export const setupTokens = pgTable("setup_tokens", {
  hash: text("hash").primaryKey(),
  createdAt: seconds("created_at").notNull(),
});
