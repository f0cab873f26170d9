-- Create "policy_decisions" table
CREATE TABLE `policy_decisions` (`id` text NOT NULL, `time` datetime NOT NULL, `kind` text NOT NULL, `domain` text NOT NULL, `product` text NOT NULL, `trigger` text NOT NULL, `actor` text NOT NULL DEFAULT (''), `policy_version` text NOT NULL, `input_digest` text NOT NULL, `allowed` bool NOT NULL, `failed_closed` bool NOT NULL DEFAULT (false), `result` text NOT NULL, `error` text NOT NULL DEFAULT (''), `duration_us` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "policydecision_domain_product_time" to table: "policy_decisions"
CREATE INDEX `policydecision_domain_product_time` ON `policy_decisions` (`domain`, `product`, `time`);
-- Create "policy_modules" table
CREATE TABLE `policy_modules` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `draft` json NOT NULL, `draft_updated_by` text NOT NULL DEFAULT (''), `published_version` integer NOT NULL DEFAULT (0), PRIMARY KEY (`id`));
-- Create index "policy_modules_name_key" to table: "policy_modules"
CREATE UNIQUE INDEX `policy_modules_name_key` ON `policy_modules` (`name`);
-- Create "policy_versions" table
CREATE TABLE `policy_versions` (`id` text NOT NULL, `module` text NOT NULL, `number` integer NOT NULL, `files` json NOT NULL, `digest` text NOT NULL, `message` text NOT NULL, `published_by` text NOT NULL, `publish_time` datetime NOT NULL, `restored_from` integer NOT NULL DEFAULT (0), PRIMARY KEY (`id`));
-- Create index "policyversion_module_number" to table: "policy_versions"
CREATE UNIQUE INDEX `policyversion_module_number` ON `policy_versions` (`module`, `number`);
-- Create "rbac_policies" table
CREATE TABLE `rbac_policies` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `text` text NOT NULL, `updated_by` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
