ALTER TABLE `oauth_clients` ADD `metadata_fetched_at` integer;--> statement-breakpoint
-- Documents cached before this column: fetched at the earliest a day (the longest cache time) before they expire, so their age is never understated.
UPDATE `oauth_clients` SET `metadata_fetched_at` = `metadata_expires_at` - 86400 WHERE `kind` = 'cimd' AND `metadata_expires_at` IS NOT NULL;
