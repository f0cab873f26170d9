-- Modify "provisioning_runs" table
ALTER TABLE "provisioning_runs" ADD COLUMN "executor" character varying NOT NULL DEFAULT '', ADD COLUMN "heartbeat_time" timestamptz NULL;
-- Create index "provisioningrun_one_active_per_product" to table: "provisioning_runs"
CREATE UNIQUE INDEX "provisioningrun_one_active_per_product" ON "provisioning_runs" ("product_id") WHERE ((state)::text = ANY ((ARRAY['queued'::character varying, 'planning'::character varying, 'applying'::character varying])::text[]));
-- Create "saved_plans" table
CREATE TABLE "saved_plans" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "digest" character varying NOT NULL, "data" bytea NOT NULL, PRIMARY KEY ("id"));
-- Create "settings" table
CREATE TABLE "settings" ("id" character varying NOT NULL, "value" character varying NOT NULL, "create_time" timestamptz NOT NULL, PRIMARY KEY ("id"));
