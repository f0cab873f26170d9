-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_data_products" table
CREATE TABLE `new_data_products` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `domain` text NOT NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `owner` text NOT NULL DEFAULT (''), `labels` json NULL, `lifecycle` text NOT NULL DEFAULT ('draft'), `source` json NOT NULL, `ports` json NOT NULL, `sinks` json NULL, `created_by` text NOT NULL DEFAULT (''), `updated_by` text NOT NULL DEFAULT (''), `provisioned_version` integer NULL, `drift` json NULL, `drift_check_time` datetime NULL, `search_text` text NOT NULL DEFAULT (''), `classifications` integer NOT NULL DEFAULT (0), PRIMARY KEY (`id`));
-- Copy rows from old table "data_products" to new temporary table "new_data_products"
INSERT INTO `new_data_products` (`id`, `create_time`, `update_time`, `version`, `domain`, `name`, `description`, `owner`, `labels`, `lifecycle`, `source`, `ports`, `sinks`, `created_by`, `updated_by`, `provisioned_version`, `drift`, `drift_check_time`) SELECT `id`, `create_time`, `update_time`, `version`, `domain`, `name`, `description`, `owner`, `labels`, `lifecycle`, `source`, `ports`, `sinks`, `created_by`, `updated_by`, `provisioned_version`, `drift`, `drift_check_time` FROM `data_products`;
-- Drop "data_products" table after copying rows
DROP TABLE `data_products`;
-- Rename temporary table "new_data_products" to "data_products"
ALTER TABLE `new_data_products` RENAME TO `data_products`;
-- Create index "dataproduct_domain_name" to table: "data_products"
CREATE UNIQUE INDEX `dataproduct_domain_name` ON `data_products` (`domain`, `name`);
-- Create index "dataproduct_name_domain" to table: "data_products"
CREATE INDEX `dataproduct_name_domain` ON `data_products` (`name`, `domain`);
-- Create index "dataproduct_lifecycle_name_domain" to table: "data_products"
CREATE INDEX `dataproduct_lifecycle_name_domain` ON `data_products` (`lifecycle`, `name`, `domain`);
-- Create index "dataproduct_create_time_id" to table: "data_products"
CREATE INDEX `dataproduct_create_time_id` ON `data_products` (`create_time`, `id`);
-- Create index "dataproduct_update_time_id" to table: "data_products"
CREATE INDEX `dataproduct_update_time_id` ON `data_products` (`update_time`, `id`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
