-- Create "audit_events" table
CREATE TABLE `audit_events` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `time` datetime NOT NULL, `actor` text NOT NULL, `action` text NOT NULL, `resource_type` text NOT NULL, `resource` text NOT NULL, `domain` text NOT NULL DEFAULT (''), `before` text NOT NULL DEFAULT (''), `after` text NOT NULL DEFAULT (''), `request_id` text NOT NULL DEFAULT (''), `prev_hash` text NOT NULL, `hash` text NOT NULL);
-- Create index "auditevent_domain_id" to table: "audit_events"
CREATE INDEX `auditevent_domain_id` ON `audit_events` (`domain`, `id`);
-- Create index "auditevent_resource_type_resource" to table: "audit_events"
CREATE INDEX `auditevent_resource_type_resource` ON `audit_events` (`resource_type`, `resource`);
-- Create index "auditevent_actor" to table: "audit_events"
CREATE INDEX `auditevent_actor` ON `audit_events` (`actor`);
-- Create "data_products" table
CREATE TABLE `data_products` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `domain` text NOT NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `owner` text NOT NULL DEFAULT (''), `labels` json NULL, `lifecycle` text NOT NULL DEFAULT ('draft'), `source` json NOT NULL, `ports` json NOT NULL, `sinks` json NULL, `created_by` text NOT NULL DEFAULT (''), `updated_by` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "dataproduct_domain_name" to table: "data_products"
CREATE UNIQUE INDEX `dataproduct_domain_name` ON `data_products` (`domain`, `name`);
-- Create index "dataproduct_name_domain" to table: "data_products"
CREATE INDEX `dataproduct_name_domain` ON `data_products` (`name`, `domain`);
-- Create index "dataproduct_lifecycle" to table: "data_products"
CREATE INDEX `dataproduct_lifecycle` ON `data_products` (`lifecycle`);
-- Create index "dataproduct_create_time_id" to table: "data_products"
CREATE INDEX `dataproduct_create_time_id` ON `data_products` (`create_time`, `id`);
-- Create index "dataproduct_update_time_id" to table: "data_products"
CREATE INDEX `dataproduct_update_time_id` ON `data_products` (`update_time`, `id`);
-- Create "domains" table
CREATE TABLE `domains` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `labels` json NULL, PRIMARY KEY (`id`));
-- Create index "domains_name_key" to table: "domains"
CREATE UNIQUE INDEX `domains_name_key` ON `domains` (`name`);
-- Create "principals" table
CREATE TABLE `principals` (`id` text NOT NULL, `create_time` datetime NOT NULL, `update_time` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `kind` text NOT NULL, `display_name` text NOT NULL DEFAULT (''), `email` text NOT NULL DEFAULT (''), `domain` text NOT NULL DEFAULT (''), `disabled` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Create index "principals_name_key" to table: "principals"
CREATE UNIQUE INDEX `principals_name_key` ON `principals` (`name`);
-- Create "role_bindings" table
CREATE TABLE `role_bindings` (`id` text NOT NULL, `principal` text NOT NULL, `role` text NOT NULL, `domain` text NOT NULL, `create_time` datetime NOT NULL, `created_by` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- Create index "rolebinding_principal_role_domain" to table: "role_bindings"
CREATE UNIQUE INDEX `rolebinding_principal_role_domain` ON `role_bindings` (`principal`, `role`, `domain`);
-- Create index "rolebinding_domain" to table: "role_bindings"
CREATE INDEX `rolebinding_domain` ON `role_bindings` (`domain`);
-- Create "tokens" table
CREATE TABLE `tokens` (`id` text NOT NULL, `hash` text NOT NULL, `description` text NOT NULL DEFAULT (''), `create_time` datetime NOT NULL, `expire_time` datetime NOT NULL, `last_used_time` datetime NULL, `revoke_time` datetime NULL, `principal_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `tokens_principals_tokens` FOREIGN KEY (`principal_id`) REFERENCES `principals` (`id`) ON DELETE NO ACTION);
-- Create index "tokens_hash_key" to table: "tokens"
CREATE UNIQUE INDEX `tokens_hash_key` ON `tokens` (`hash`);
-- Create index "token_principal_id" to table: "tokens"
CREATE INDEX `token_principal_id` ON `tokens` (`principal_id`);
