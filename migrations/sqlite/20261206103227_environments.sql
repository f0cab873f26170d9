-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_provisioning_runs" table
CREATE TABLE `new_provisioning_runs` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `domain` text NOT NULL, `product` text NOT NULL, `product_id` text NOT NULL, `environment` text NOT NULL DEFAULT (''), `product_version` integer NOT NULL, `kind` text NOT NULL, `state` text NOT NULL DEFAULT ('queued'), `has_changes` bool NOT NULL DEFAULT (false), `destructive` bool NOT NULL DEFAULT (false), `summary` json NULL, `plan_digest` text NOT NULL DEFAULT (''), `policy_version` text NOT NULL DEFAULT (''), `log` text NOT NULL DEFAULT (''), `error` text NOT NULL DEFAULT (''), `created_by` text NOT NULL DEFAULT (''), `approved_by` text NOT NULL DEFAULT (''), `approvers` json NULL, `approvals` json NULL, `approve_time` datetime NULL, `start_time` datetime NULL, `finish_time` datetime NULL, `trigger` text NOT NULL DEFAULT ('user'), `trigger_detail` text NOT NULL DEFAULT (''), `grants` json NULL, `auto_apply` bool NOT NULL DEFAULT (false), `auto_apply_note` text NOT NULL DEFAULT (''), `executor` text NOT NULL DEFAULT (''), `heartbeat_time` datetime NULL, PRIMARY KEY (`id`));
-- Copy rows from old table "provisioning_runs" to new temporary table "new_provisioning_runs"
INSERT INTO `new_provisioning_runs` (`id`, `create_time`, `update_time`, `version`, `domain`, `product`, `product_id`, `product_version`, `kind`, `state`, `has_changes`, `destructive`, `summary`, `plan_digest`, `policy_version`, `log`, `error`, `created_by`, `approved_by`, `approve_time`, `start_time`, `finish_time`, `trigger`, `trigger_detail`, `grants`, `auto_apply`, `auto_apply_note`, `executor`, `heartbeat_time`) SELECT `id`, `create_time`, `update_time`, `version`, `domain`, `product`, `product_id`, `product_version`, `kind`, `state`, `has_changes`, `destructive`, `summary`, `plan_digest`, `policy_version`, `log`, `error`, `created_by`, `approved_by`, `approve_time`, `start_time`, `finish_time`, `trigger`, `trigger_detail`, `grants`, `auto_apply`, `auto_apply_note`, `executor`, `heartbeat_time` FROM `provisioning_runs`;
-- Drop "provisioning_runs" table after copying rows
DROP TABLE `provisioning_runs`;
-- Rename temporary table "new_provisioning_runs" to "provisioning_runs"
ALTER TABLE `new_provisioning_runs` RENAME TO `provisioning_runs`;
-- Create index "provisioningrun_domain_product_create_time" to table: "provisioning_runs"
CREATE INDEX `provisioningrun_domain_product_create_time` ON `provisioning_runs` (`domain`, `product`, `create_time`);
-- Create index "provisioningrun_state" to table: "provisioning_runs"
CREATE INDEX `provisioningrun_state` ON `provisioning_runs` (`state`);
-- Create "deployments" table
CREATE TABLE `deployments` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `product_id` text NOT NULL, `domain` text NOT NULL, `product` text NOT NULL, `environment` text NOT NULL, `provisioned_version` integer NULL, `drift` json NULL, `drift_check_time` datetime NULL, PRIMARY KEY (`id`));
-- Create index "deployment_product_id_environment" to table: "deployments"
CREATE UNIQUE INDEX `deployment_product_id_environment` ON `deployments` (`product_id`, `environment`);
-- Create index "deployment_environment_provisioned_version" to table: "deployments"
CREATE INDEX `deployment_environment_provisioned_version` ON `deployments` (`environment`, `provisioned_version`);
-- Hand-written: one active run per product and environment (the rebuild above dropped the per-product index).
CREATE UNIQUE INDEX `provisioningrun_one_active_per_product_environment` ON `provisioning_runs` (`product_id`, `environment`) WHERE state IN ('queued', 'planning', 'applying');
-- Hand-written: what was provisioned before environments existed becomes a deployment in environment '', which the server adopts into its first environment on start.
INSERT INTO `deployments` (`id`, `create_time`, `update_time`, `product_id`, `domain`, `product`, `environment`, `provisioned_version`, `drift`, `drift_check_time`) SELECT `id`, `create_time`, `update_time`, `id`, `domain`, `name`, '', `provisioned_version`, `drift`, `drift_check_time` FROM `data_products` WHERE `provisioned_version` IS NOT NULL OR `drift_check_time` IS NOT NULL;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
