-- Create "webhooks" table
CREATE TABLE `webhooks` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `domain` text NOT NULL, `name` text NOT NULL, `url` text NOT NULL, `types` json NULL, `active` bool NOT NULL DEFAULT (true), `cursor` integer NOT NULL DEFAULT (0), `secret_generation` integer NOT NULL DEFAULT (1), `created_by` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "webhook_domain_name" to table: "webhooks"
CREATE UNIQUE INDEX `webhook_domain_name` ON `webhooks` (`domain`, `name`);
-- Create "webhook_deliveries" table
CREATE TABLE `webhook_deliveries` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `webhook_id` text NOT NULL, `sequence` integer NOT NULL, `type` text NOT NULL, `state` text NOT NULL DEFAULT ('pending'), `attempts` integer NOT NULL DEFAULT (0), `next_attempt_time` datetime NOT NULL, `last_attempt_time` datetime NULL, `response_status` integer NOT NULL DEFAULT (0), `last_error` text NOT NULL DEFAULT (''), `deliver_time` datetime NULL, PRIMARY KEY (`id`));
-- Create index "webhookdelivery_webhook_id_sequence" to table: "webhook_deliveries"
CREATE UNIQUE INDEX `webhookdelivery_webhook_id_sequence` ON `webhook_deliveries` (`webhook_id`, `sequence`);
-- Create index "webhookdelivery_state_next_attempt_time" to table: "webhook_deliveries"
CREATE INDEX `webhookdelivery_state_next_attempt_time` ON `webhook_deliveries` (`state`, `next_attempt_time`);
