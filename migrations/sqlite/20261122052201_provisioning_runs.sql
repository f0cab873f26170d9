-- Add column "provisioned_version" to table: "data_products"
ALTER TABLE `data_products` ADD COLUMN `provisioned_version` integer NULL;
-- Add column "drift" to table: "data_products"
ALTER TABLE `data_products` ADD COLUMN `drift` json NULL;
-- Add column "drift_check_time" to table: "data_products"
ALTER TABLE `data_products` ADD COLUMN `drift_check_time` datetime NULL;
-- Create "provisioning_runs" table
CREATE TABLE `provisioning_runs` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `domain` text NOT NULL, `product` text NOT NULL, `product_id` text NOT NULL, `product_version` integer NOT NULL, `kind` text NOT NULL, `state` text NOT NULL DEFAULT ('queued'), `has_changes` bool NOT NULL DEFAULT (false), `destructive` bool NOT NULL DEFAULT (false), `summary` json NULL, `plan_digest` text NOT NULL DEFAULT (''), `log` text NOT NULL DEFAULT (''), `error` text NOT NULL DEFAULT (''), `created_by` text NOT NULL DEFAULT (''), `approved_by` text NOT NULL DEFAULT (''), `approve_time` datetime NULL, `start_time` datetime NULL, `finish_time` datetime NULL, PRIMARY KEY (`id`));
-- Create index "provisioningrun_domain_product_create_time" to table: "provisioning_runs"
CREATE INDEX `provisioningrun_domain_product_create_time` ON `provisioning_runs` (`domain`, `product`, `create_time`);
-- Create index "provisioningrun_state" to table: "provisioning_runs"
CREATE INDEX `provisioningrun_state` ON `provisioning_runs` (`state`);
