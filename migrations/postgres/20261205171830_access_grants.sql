-- Modify "provisioning_runs" table
ALTER TABLE "provisioning_runs" ADD COLUMN "trigger" character varying NOT NULL DEFAULT 'user', ADD COLUMN "trigger_detail" character varying NOT NULL DEFAULT '', ADD COLUMN "grants" jsonb NULL, ADD COLUMN "auto_apply" boolean NOT NULL DEFAULT false, ADD COLUMN "auto_apply_note" text NOT NULL DEFAULT '';
-- Create "access_requests" table
CREATE TABLE "access_requests" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "version" bigint NOT NULL DEFAULT 1, "consumer" character varying NOT NULL, "consumer_domain" character varying NOT NULL, "requested_by" character varying NOT NULL, "purpose" text NOT NULL, "duration_seconds" bigint NOT NULL, "group_prefix" character varying NOT NULL, "state" character varying NOT NULL DEFAULT 'pending', "approvals" jsonb NULL, "decisions" jsonb NULL, "auto_approved" boolean NOT NULL DEFAULT false, "max_duration_seconds" bigint NOT NULL DEFAULT 0, "policy_version" character varying NOT NULL DEFAULT '', "policy_error" text NOT NULL DEFAULT '', "decline_reason" text NOT NULL DEFAULT '', "declined_by" character varying NOT NULL DEFAULT '', "domains" character varying NOT NULL DEFAULT '', "finish_time" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "accessrequest_consumer_create_time" to table: "access_requests"
CREATE INDEX "accessrequest_consumer_create_time" ON "access_requests" ("consumer", "create_time");
-- Create index "accessrequest_state_create_time" to table: "access_requests"
CREATE INDEX "accessrequest_state_create_time" ON "access_requests" ("state", "create_time");
-- Create "grants" table
CREATE TABLE "grants" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "version" bigint NOT NULL DEFAULT 1, "request_id" character varying NOT NULL, "consumer" character varying NOT NULL, "consumer_domain" character varying NOT NULL, "domain" character varying NOT NULL, "product" character varying NOT NULL, "product_id" character varying NOT NULL, "port" character varying NOT NULL, "topic" character varying NOT NULL, "group_prefix" character varying NOT NULL, "purpose" text NOT NULL, "duration_seconds" bigint NOT NULL, "state" character varying NOT NULL DEFAULT 'pending', "live_key" character varying NULL, "run_id" character varying NOT NULL DEFAULT '', "error" text NOT NULL DEFAULT '', "ended_by" character varying NOT NULL DEFAULT '', "end_reason" text NOT NULL DEFAULT '', "approve_time" timestamptz NULL, "activate_time" timestamptz NULL, "expire_time" timestamptz NULL, "end_time" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "grant_consumer_create_time" to table: "grants"
CREATE INDEX "grant_consumer_create_time" ON "grants" ("consumer", "create_time");
-- Create index "grant_domain_product_create_time" to table: "grants"
CREATE INDEX "grant_domain_product_create_time" ON "grants" ("domain", "product", "create_time");
-- Create index "grant_product_id_state" to table: "grants"
CREATE INDEX "grant_product_id_state" ON "grants" ("product_id", "state");
-- Create index "grant_request_id" to table: "grants"
CREATE INDEX "grant_request_id" ON "grants" ("request_id");
-- Create index "grant_state_expire_time" to table: "grants"
CREATE INDEX "grant_state_expire_time" ON "grants" ("state", "expire_time");
-- Create index "grants_live_key_key" to table: "grants"
CREATE UNIQUE INDEX "grants_live_key_key" ON "grants" ("live_key");
-- Create "kafka_credentials" table
CREATE TABLE "kafka_credentials" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "version" bigint NOT NULL DEFAULT 1, "principal" character varying NOT NULL, "username" character varying NOT NULL, "mechanism" character varying NOT NULL, "issued_by" character varying NOT NULL, "rotate_time" timestamptz NULL, "delete_time" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "kafka_credentials_principal_key" to table: "kafka_credentials"
CREATE UNIQUE INDEX "kafka_credentials_principal_key" ON "kafka_credentials" ("principal");
