CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`event` text NOT NULL,
	`outcome` text NOT NULL,
	`user_id` text,
	`client_id` text,
	`api_key_id` text,
	`grant_id` text,
	`tool` text,
	`upstream` text,
	`duration_ms` integer,
	`request_id` text,
	`ip` text,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `audit_events_at_idx` ON `audit_events` (`at`);--> statement-breakpoint
CREATE INDEX `audit_events_user_idx` ON `audit_events` (`user_id`,`at`);--> statement-breakpoint
CREATE INDEX `audit_events_client_idx` ON `audit_events` (`client_id`,`at`);--> statement-breakpoint
CREATE INDEX `audit_events_tool_idx` ON `audit_events` (`tool`,`at`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `tools` text;--> statement-breakpoint
ALTER TABLE `oauth_grants` ADD `tools` text;