ALTER TABLE `api_keys` ADD `created_with_key_id` text;--> statement-breakpoint
CREATE INDEX `api_keys_created_with_idx` ON `api_keys` (`created_with_key_id`);