-- Create "policy_decisions" table
CREATE TABLE "policy_decisions" ("id" character varying NOT NULL, "time" timestamptz NOT NULL, "kind" character varying NOT NULL, "domain" character varying NOT NULL, "product" character varying NOT NULL, "trigger" character varying NOT NULL, "actor" character varying NOT NULL DEFAULT '', "policy_version" character varying NOT NULL, "input_digest" character varying NOT NULL, "allowed" boolean NOT NULL, "failed_closed" boolean NOT NULL DEFAULT false, "result" text NOT NULL, "error" text NOT NULL DEFAULT '', "duration_us" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "policydecision_domain_product_time" to table: "policy_decisions"
CREATE INDEX "policydecision_domain_product_time" ON "policy_decisions" ("domain", "product", "time");
-- Create "policy_modules" table
CREATE TABLE "policy_modules" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "version" bigint NOT NULL DEFAULT 1, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "draft" jsonb NOT NULL, "draft_updated_by" character varying NOT NULL DEFAULT '', "published_version" bigint NOT NULL DEFAULT 0, PRIMARY KEY ("id"));
-- Create index "policy_modules_name_key" to table: "policy_modules"
CREATE UNIQUE INDEX "policy_modules_name_key" ON "policy_modules" ("name");
-- Create "policy_versions" table
CREATE TABLE "policy_versions" ("id" character varying NOT NULL, "module" character varying NOT NULL, "number" bigint NOT NULL, "files" jsonb NOT NULL, "digest" character varying NOT NULL, "message" text NOT NULL, "published_by" character varying NOT NULL, "publish_time" timestamptz NOT NULL, "restored_from" bigint NOT NULL DEFAULT 0, PRIMARY KEY ("id"));
-- Create index "policyversion_module_number" to table: "policy_versions"
CREATE UNIQUE INDEX "policyversion_module_number" ON "policy_versions" ("module", "number");
-- Create "rbac_policies" table
CREATE TABLE "rbac_policies" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "version" bigint NOT NULL DEFAULT 1, "text" text NOT NULL, "updated_by" character varying NOT NULL DEFAULT '', PRIMARY KEY ("id"));
