CREATE TABLE `setup_tokens` (
	`hash` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL
);
