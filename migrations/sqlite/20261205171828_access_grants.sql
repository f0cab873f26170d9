-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_provisioning_runs" table
CREATE TABLE `new_provisioning_runs` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `domain` text NOT NULL, `product` text NOT NULL, `product_id` text NOT NULL, `product_version` integer NOT NULL, `kind` text NOT NULL, `state` text NOT NULL DEFAULT ('queued'), `has_changes` bool NOT NULL DEFAULT (false), `destructive` bool NOT NULL DEFAULT (false), `summary` json NULL, `plan_digest` text NOT NULL DEFAULT (''), `policy_version` text NOT NULL DEFAULT (''), `log` text NOT NULL DEFAULT (''), `error` text NOT NULL DEFAULT (''), `created_by` text NOT NULL DEFAULT (''), `approved_by` text NOT NULL DEFAULT (''), `approve_time` datetime NULL, `start_time` datetime NULL, `finish_time` datetime NULL, `trigger` text NOT NULL DEFAULT ('user'), `trigger_detail` text NOT NULL DEFAULT (''), `grants` json NULL, `auto_apply` bool NOT NULL DEFAULT (false), `auto_apply_note` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Copy rows from old table "provisioning_runs" to new temporary table "new_provisioning_runs"
INSERT INTO `new_provisioning_runs` (`id`, `create_time`, `update_time`, `version`, `domain`, `product`, `product_id`, `product_version`, `kind`, `state`, `has_changes`, `destructive`, `summary`, `plan_digest`, `policy_version`, `log`, `error`, `created_by`, `approved_by`, `approve_time`, `start_time`, `finish_time`) SELECT `id`, `create_time`, `update_time`, `version`, `domain`, `product`, `product_id`, `product_version`, `kind`, `state`, `has_changes`, `destructive`, `summary`, `plan_digest`, `policy_version`, `log`, `error`, `created_by`, `approved_by`, `approve_time`, `start_time`, `finish_time` FROM `provisioning_runs`;
-- Drop "provisioning_runs" table after copying rows
DROP TABLE `provisioning_runs`;
-- Rename temporary table "new_provisioning_runs" to "provisioning_runs"
ALTER TABLE `new_provisioning_runs` RENAME TO `provisioning_runs`;
-- Create index "provisioningrun_domain_product_create_time" to table: "provisioning_runs"
CREATE INDEX `provisioningrun_domain_product_create_time` ON `provisioning_runs` (`domain`, `product`, `create_time`);
-- Create index "provisioningrun_state" to table: "provisioning_runs"
CREATE INDEX `provisioningrun_state` ON `provisioning_runs` (`state`);
-- Create "access_requests" table
CREATE TABLE `access_requests` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `consumer` text NOT NULL, `consumer_domain` text NOT NULL, `requested_by` text NOT NULL, `purpose` text NOT NULL, `duration_seconds` integer NOT NULL, `group_prefix` text NOT NULL, `state` text NOT NULL DEFAULT ('pending'), `approvals` json NULL, `decisions` json NULL, `auto_approved` bool NOT NULL DEFAULT (false), `max_duration_seconds` integer NOT NULL DEFAULT (0), `policy_version` text NOT NULL DEFAULT (''), `policy_error` text NOT NULL DEFAULT (''), `decline_reason` text NOT NULL DEFAULT (''), `declined_by` text NOT NULL DEFAULT (''), `domains` text NOT NULL DEFAULT (''), `finish_time` datetime NULL, PRIMARY KEY (`id`));
-- Create index "accessrequest_consumer_create_time" to table: "access_requests"
CREATE INDEX `accessrequest_consumer_create_time` ON `access_requests` (`consumer`, `create_time`);
-- Create index "accessrequest_state_create_time" to table: "access_requests"
CREATE INDEX `accessrequest_state_create_time` ON `access_requests` (`state`, `create_time`);
-- Create "grants" table
CREATE TABLE `grants` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `request_id` text NOT NULL, `consumer` text NOT NULL, `consumer_domain` text NOT NULL, `domain` text NOT NULL, `product` text NOT NULL, `product_id` text NOT NULL, `port` text NOT NULL, `topic` text NOT NULL, `group_prefix` text NOT NULL, `purpose` text NOT NULL, `duration_seconds` integer NOT NULL, `state` text NOT NULL DEFAULT ('pending'), `live_key` text NULL, `run_id` text NOT NULL DEFAULT (''), `error` text NOT NULL DEFAULT (''), `ended_by` text NOT NULL DEFAULT (''), `end_reason` text NOT NULL DEFAULT (''), `approve_time` datetime NULL, `activate_time` datetime NULL, `expire_time` datetime NULL, `end_time` datetime NULL, PRIMARY KEY (`id`));
-- Create index "grants_live_key_key" to table: "grants"
CREATE UNIQUE INDEX `grants_live_key_key` ON `grants` (`live_key`);
-- Create index "grant_product_id_state" to table: "grants"
CREATE INDEX `grant_product_id_state` ON `grants` (`product_id`, `state`);
-- Create index "grant_domain_product_create_time" to table: "grants"
CREATE INDEX `grant_domain_product_create_time` ON `grants` (`domain`, `product`, `create_time`);
-- Create index "grant_consumer_create_time" to table: "grants"
CREATE INDEX `grant_consumer_create_time` ON `grants` (`consumer`, `create_time`);
-- Create index "grant_request_id" to table: "grants"
CREATE INDEX `grant_request_id` ON `grants` (`request_id`);
-- Create index "grant_state_expire_time" to table: "grants"
CREATE INDEX `grant_state_expire_time` ON `grants` (`state`, `expire_time`);
-- Create "kafka_credentials" table
CREATE TABLE `kafka_credentials` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `principal` text NOT NULL, `username` text NOT NULL, `mechanism` text NOT NULL, `issued_by` text NOT NULL, `rotate_time` datetime NULL, `delete_time` datetime NULL, PRIMARY KEY (`id`));
-- Create index "kafka_credentials_principal_key" to table: "kafka_credentials"
CREATE UNIQUE INDEX `kafka_credentials_principal_key` ON `kafka_credentials` (`principal`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
