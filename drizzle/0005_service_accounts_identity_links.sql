CREATE TABLE `identity_links` (
	`provider` text NOT NULL,
	`subject` text NOT NULL,
	`user_id` text NOT NULL,
	`email` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	PRIMARY KEY(`provider`, `subject`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `identity_links_user_idx` ON `identity_links` (`user_id`);--> statement-breakpoint
ALTER TABLE `users` ADD `kind` text DEFAULT 'person' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `name` text;--> statement-breakpoint
DROP TRIGGER `auth_epoch_users_update`;--> statement-breakpoint
CREATE TRIGGER `auth_epoch_users_update` AFTER UPDATE OF email, is_admin, disabled_at, kind, name ON `users` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
