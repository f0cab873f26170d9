-- Modify "data_products" table
ALTER TABLE "data_products" ADD COLUMN "provisioned_version" bigint NULL, ADD COLUMN "drift" jsonb NULL, ADD COLUMN "drift_check_time" timestamptz NULL;
-- Create "provisioning_runs" table
CREATE TABLE "provisioning_runs" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "version" bigint NOT NULL DEFAULT 1, "domain" character varying NOT NULL, "product" character varying NOT NULL, "product_id" character varying NOT NULL, "product_version" bigint NOT NULL, "kind" character varying NOT NULL, "state" character varying NOT NULL DEFAULT 'queued', "has_changes" boolean NOT NULL DEFAULT false, "destructive" boolean NOT NULL DEFAULT false, "summary" jsonb NULL, "plan_digest" character varying NOT NULL DEFAULT '', "log" text NOT NULL DEFAULT '', "error" text NOT NULL DEFAULT '', "created_by" character varying NOT NULL DEFAULT '', "approved_by" character varying NOT NULL DEFAULT '', "approve_time" timestamptz NULL, "start_time" timestamptz NULL, "finish_time" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "provisioningrun_domain_product_create_time" to table: "provisioning_runs"
CREATE INDEX "provisioningrun_domain_product_create_time" ON "provisioning_runs" ("domain", "product", "create_time");
-- Create index "provisioningrun_state" to table: "provisioning_runs"
CREATE INDEX "provisioningrun_state" ON "provisioning_runs" ("state");
