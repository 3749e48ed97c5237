-- ON DELETE cascade added by hand: drizzle-kit leaves it out of ADD COLUMN … REFERENCES (the snapshot has it).
ALTER TABLE `oauth_clients` ADD `owner_user_id` text REFERENCES users(id) ON DELETE cascade;--> statement-breakpoint
CREATE INDEX `oauth_clients_owner_idx` ON `oauth_clients` (`owner_user_id`);