-- A refresh rotation marks the spent refresh token rotated (rotated_at). The /mcp bearer check
-- accepts access tokens only, so that column cannot change its verdict: it no longer raises the
-- auth epoch, and a rotation no longer empties every caller's verified-token cache.
DROP TRIGGER `auth_epoch_oauth_tokens_update`;--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_tokens_update` AFTER UPDATE OF kind, secret_hash, grant_id, scope, expires_at, revoked_at ON `oauth_tokens` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
