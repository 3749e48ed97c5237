CREATE TABLE `auth_epoch` (
	`id` integer PRIMARY KEY NOT NULL,
	`n` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `auth_epoch` (`id`, `n`) VALUES (1, 0);
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_api_keys_update` AFTER UPDATE OF user_id, name, secret_hash, scope, tools, expires_at, revoked_at ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_api_keys_delete` AFTER DELETE ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_users_update` AFTER UPDATE OF email, is_admin, disabled_at ON `users` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_users_delete` AFTER DELETE ON `users` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_clients_update` AFTER UPDATE OF kind, name ON `oauth_clients` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_clients_delete` AFTER DELETE ON `oauth_clients` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_grants_update` AFTER UPDATE OF user_id, client_id, scope, tools, resource, revoked_at ON `oauth_grants` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_grants_delete` AFTER DELETE ON `oauth_grants` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_tokens_update` AFTER UPDATE OF kind, secret_hash, grant_id, scope, expires_at, revoked_at, rotated_at ON `oauth_tokens` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `auth_epoch_oauth_tokens_delete` AFTER DELETE ON `oauth_tokens` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
