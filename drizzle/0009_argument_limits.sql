ALTER TABLE `api_keys` ADD `argument_limits` text;--> statement-breakpoint
ALTER TABLE `oauth_grants` ADD `argument_limits` text;--> statement-breakpoint
DROP TRIGGER `auth_epoch_api_keys_update`;--> statement-breakpoint
CREATE TRIGGER `auth_epoch_api_keys_update` AFTER UPDATE OF user_id, name, secret_hash, scope, tools, argument_limits, expires_at, revoked_at ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
DROP TRIGGER `auth_epoch_oauth_grants_update`;--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_grants_update` AFTER UPDATE OF user_id, client_id, scope, tools, argument_limits, resource, revoked_at ON `oauth_grants` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
