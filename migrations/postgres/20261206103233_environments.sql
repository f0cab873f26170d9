-- Modify "provisioning_runs" table
ALTER TABLE "provisioning_runs" ADD COLUMN "environment" character varying NOT NULL DEFAULT '', ADD COLUMN "approvers" jsonb NULL, ADD COLUMN "approvals" jsonb NULL;
-- Create "deployments" table
CREATE TABLE "deployments" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "product_id" character varying NOT NULL, "domain" character varying NOT NULL, "product" character varying NOT NULL, "environment" character varying NOT NULL, "provisioned_version" bigint NULL, "drift" jsonb NULL, "drift_check_time" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "deployment_environment_provisioned_version" to table: "deployments"
CREATE INDEX "deployment_environment_provisioned_version" ON "deployments" ("environment", "provisioned_version");
-- Create index "deployment_product_id_environment" to table: "deployments"
CREATE UNIQUE INDEX "deployment_product_id_environment" ON "deployments" ("product_id", "environment");
-- Hand-written: one active run per product and environment.
DROP INDEX "provisioningrun_one_active_per_product";
CREATE UNIQUE INDEX "provisioningrun_one_active_per_product_environment" ON "provisioning_runs" ("product_id", "environment") WHERE ((state)::text = ANY ((ARRAY['queued'::character varying, 'planning'::character varying, 'applying'::character varying])::text[]));
-- Hand-written: what was provisioned before environments existed becomes a deployment in environment '', which the server adopts into its first environment on start.
INSERT INTO "deployments" ("id", "create_time", "update_time", "product_id", "domain", "product", "environment", "provisioned_version", "drift", "drift_check_time") SELECT "id", "create_time", "update_time", "id", "domain", "name", '', "provisioned_version", "drift", "drift_check_time" FROM "data_products" WHERE "provisioned_version" IS NOT NULL OR "drift_check_time" IS NOT NULL;
