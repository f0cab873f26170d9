-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_access_requests" table
CREATE TABLE `new_access_requests` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `consumer` text NOT NULL, `consumer_domain` text NOT NULL, `requested_by` text NOT NULL, `purpose` text NOT NULL, `duration_seconds` integer NOT NULL, `group_prefix` text NOT NULL, `environment` text NOT NULL DEFAULT (''), `state` text NOT NULL DEFAULT ('pending'), `approvals` json NULL, `decisions` json NULL, `auto_approved` bool NOT NULL DEFAULT (false), `max_duration_seconds` integer NOT NULL DEFAULT (0), `policy_version` text NOT NULL DEFAULT (''), `policy_error` text NOT NULL DEFAULT (''), `decline_reason` text NOT NULL DEFAULT (''), `declined_by` text NOT NULL DEFAULT (''), `domains` text NOT NULL DEFAULT (''), `finish_time` datetime NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "access_requests" to new temporary table "new_access_requests"
INSERT INTO `new_access_requests` (`id`, `create_time`, `update_time`, `version`, `consumer`, `consumer_domain`, `requested_by`, `purpose`, `duration_seconds`, `group_prefix`, `state`, `approvals`, `decisions`, `auto_approved`, `max_duration_seconds`, `policy_version`, `policy_error`, `decline_reason`, `declined_by`, `domains`, `finish_time`) SELECT `id`, `create_time`, `update_time`, `version`, `consumer`, `consumer_domain`, `requested_by`, `purpose`, `duration_seconds`, `group_prefix`, `state`, `approvals`, `decisions`, `auto_approved`, `max_duration_seconds`, `policy_version`, `policy_error`, `decline_reason`, `declined_by`, `domains`, `finish_time` FROM `access_requests`;
-- Drop "access_requests" table after copying rows
DROP TABLE `access_requests`;
-- Rename temporary table "new_access_requests" to "access_requests"
ALTER TABLE `new_access_requests` RENAME TO `access_requests`;
-- Create index "accessrequest_consumer_create_time" to table: "access_requests"
CREATE INDEX `accessrequest_consumer_create_time` ON `access_requests` (`consumer`, `create_time`);
-- Create index "accessrequest_state_create_time" to table: "access_requests"
CREATE INDEX `accessrequest_state_create_time` ON `access_requests` (`state`, `create_time`);
-- Create "new_grants" table
CREATE TABLE `new_grants` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `request_id` text NOT NULL, `consumer` text NOT NULL, `consumer_domain` text NOT NULL, `domain` text NOT NULL, `product` text NOT NULL, `product_id` text NOT NULL, `port` text NOT NULL, `topic` text NOT NULL, `environment` text NOT NULL DEFAULT (''), `group_prefix` text NOT NULL, `purpose` text NOT NULL, `duration_seconds` integer NOT NULL, `state` text NOT NULL DEFAULT ('pending'), `live_key` text NULL, `run_id` text NOT NULL DEFAULT (''), `error` text NOT NULL DEFAULT (''), `ended_by` text NOT NULL DEFAULT (''), `end_reason` text NOT NULL DEFAULT (''), `approve_time` datetime NULL, `activate_time` datetime NULL, `expire_time` datetime NULL, `end_time` datetime NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "grants" to new temporary table "new_grants"
INSERT INTO `new_grants` (`id`, `create_time`, `update_time`, `version`, `request_id`, `consumer`, `consumer_domain`, `domain`, `product`, `product_id`, `port`, `topic`, `group_prefix`, `purpose`, `duration_seconds`, `state`, `live_key`, `run_id`, `error`, `ended_by`, `end_reason`, `approve_time`, `activate_time`, `expire_time`, `end_time`) SELECT `id`, `create_time`, `update_time`, `version`, `request_id`, `consumer`, `consumer_domain`, `domain`, `product`, `product_id`, `port`, `topic`, `group_prefix`, `purpose`, `duration_seconds`, `state`, `live_key`, `run_id`, `error`, `ended_by`, `end_reason`, `approve_time`, `activate_time`, `expire_time`, `end_time` FROM `grants`;
-- Drop "grants" table after copying rows
DROP TABLE `grants`;
-- Rename temporary table "new_grants" to "grants"
ALTER TABLE `new_grants` RENAME TO `grants`;
-- Create index "grants_live_key_key" to table: "grants"
CREATE UNIQUE INDEX `grants_live_key_key` ON `grants` (`live_key`);
-- Create index "grant_product_id_environment_state" to table: "grants"
CREATE INDEX `grant_product_id_environment_state` ON `grants` (`product_id`, `environment`, `state`);
-- Create index "grant_domain_product_create_time" to table: "grants"
CREATE INDEX `grant_domain_product_create_time` ON `grants` (`domain`, `product`, `create_time`);
-- Create index "grant_consumer_create_time" to table: "grants"
CREATE INDEX `grant_consumer_create_time` ON `grants` (`consumer`, `create_time`);
-- Create index "grant_request_id" to table: "grants"
CREATE INDEX `grant_request_id` ON `grants` (`request_id`);
-- Create index "grant_state_expire_time" to table: "grants"
CREATE INDEX `grant_state_expire_time` ON `grants` (`state`, `expire_time`);
-- Create "new_kafka_credentials" table
CREATE TABLE `new_kafka_credentials` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `principal` text NOT NULL, `environment` text NOT NULL DEFAULT (''), `username` text NOT NULL, `mechanism` text NOT NULL, `issued_by` text NOT NULL, `rotate_time` datetime NULL, `delete_time` datetime NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "kafka_credentials" to new temporary table "new_kafka_credentials"
INSERT INTO `new_kafka_credentials` (`id`, `create_time`, `update_time`, `version`, `principal`, `username`, `mechanism`, `issued_by`, `rotate_time`, `delete_time`) SELECT `id`, `create_time`, `update_time`, `version`, `principal`, `username`, `mechanism`, `issued_by`, `rotate_time`, `delete_time` FROM `kafka_credentials`;
-- Drop "kafka_credentials" table after copying rows
DROP TABLE `kafka_credentials`;
-- Rename temporary table "new_kafka_credentials" to "kafka_credentials"
ALTER TABLE `new_kafka_credentials` RENAME TO `kafka_credentials`;
-- Create index "kafkacredential_principal_environment" to table: "kafka_credentials"
CREATE UNIQUE INDEX `kafkacredential_principal_environment` ON `kafka_credentials` (`principal`, `environment`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
