-- Rate limits and throttles shared by every instance (issue 16; src/security/rate-counters-postgres.ts):
-- one row per limiter and key, written by one INSERT … ON CONFLICT … DO UPDATE … RETURNING a request.
-- Not in src/db/schema-pg.ts: Drizzle cannot declare UNLOGGED, and the schema files are compared
-- table by table with SQLite's, which keeps these counts in memory. UNLOGGED: no WAL for a counter
-- written on every request; after a crash the table comes back empty, which gives every key a fresh
-- window once, and it is not copied to replicas, whose instances could not write it anyway.
-- "allowed" is whether the row's last take fitted: RETURNING sees only the new row, and a refused take
-- leaves the count as it was, so the count alone cannot tell.
CREATE UNLOGGED TABLE "rate_counters" (
	"key" text PRIMARY KEY NOT NULL,
	"count" integer NOT NULL,
	"ends_at" bigint NOT NULL,
	"allowed" boolean NOT NULL
);
