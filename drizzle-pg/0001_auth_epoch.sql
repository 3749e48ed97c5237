-- The auth epoch (src/db/schema.ts authEpoch; SQLite: drizzle/0003, 0005, 0009, 0011): one row whose
-- counter rises whenever a credential, grant, client or user changes in a way that could change who
-- a bearer token authenticates as. The same tables, events and columns as SQLite's triggers, through
-- one trigger function. It bumps the row rather than a sequence: a sequence's nextval is seen by
-- other sessions before the writing transaction commits (and never rolls back), so a reader could
-- cache a lookup made before the revocation under the new number; the row's new value is seen only
-- with the commit. pg_notify is delivered at commit too, and not at all on rollback; its payload is
-- the new counter value.
INSERT INTO "auth_epoch" ("id", "n") VALUES (1, 0);
--> statement-breakpoint
CREATE FUNCTION "auth_epoch_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  epoch bigint;
BEGIN
  UPDATE "auth_epoch" SET "n" = "n" + 1 WHERE "id" = 1 RETURNING "n" INTO epoch;
  PERFORM pg_notify('gatehouse_auth_epoch', epoch::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_api_keys_update" AFTER UPDATE OF "user_id", "name", "secret_hash", "scope", "tools", "argument_limits", "expires_at", "revoked_at" ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_api_keys_delete" AFTER DELETE ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_users_update" AFTER UPDATE OF "email", "is_admin", "disabled_at", "kind", "name" ON "users" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_users_delete" AFTER DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_oauth_clients_update" AFTER UPDATE OF "kind", "name" ON "oauth_clients" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_oauth_clients_delete" AFTER DELETE ON "oauth_clients" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_oauth_grants_update" AFTER UPDATE OF "user_id", "client_id", "scope", "tools", "argument_limits", "resource", "revoked_at" ON "oauth_grants" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_oauth_grants_delete" AFTER DELETE ON "oauth_grants" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_oauth_tokens_update" AFTER UPDATE OF "kind", "secret_hash", "grant_id", "scope", "expires_at", "revoked_at" ON "oauth_tokens" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
--> statement-breakpoint
CREATE TRIGGER "auth_epoch_oauth_tokens_delete" AFTER DELETE ON "oauth_tokens" FOR EACH ROW EXECUTE FUNCTION "auth_epoch_bump"();
