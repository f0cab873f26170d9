-- Create "webhooks" table
CREATE TABLE "webhooks" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "version" bigint NOT NULL DEFAULT 1, "domain" character varying NOT NULL, "name" character varying NOT NULL, "url" character varying NOT NULL, "types" jsonb NULL, "active" boolean NOT NULL DEFAULT true, "cursor" bigint NOT NULL DEFAULT 0, "secret_generation" bigint NOT NULL DEFAULT 1, "created_by" character varying NOT NULL DEFAULT '', PRIMARY KEY ("id"));
-- Create index "webhook_domain_name" to table: "webhooks"
CREATE UNIQUE INDEX "webhook_domain_name" ON "webhooks" ("domain", "name");
-- Create "webhook_deliveries" table
CREATE TABLE "webhook_deliveries" ("id" character varying NOT NULL, "create_time" timestamptz NOT NULL, "update_time" timestamptz NOT NULL, "webhook_id" character varying NOT NULL, "sequence" bigint NOT NULL, "type" character varying NOT NULL, "state" character varying NOT NULL DEFAULT 'pending', "attempts" bigint NOT NULL DEFAULT 0, "next_attempt_time" timestamptz NOT NULL, "last_attempt_time" timestamptz NULL, "response_status" bigint NOT NULL DEFAULT 0, "last_error" character varying NOT NULL DEFAULT '', "deliver_time" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "webhookdelivery_state_next_attempt_time" to table: "webhook_deliveries"
CREATE INDEX "webhookdelivery_state_next_attempt_time" ON "webhook_deliveries" ("state", "next_attempt_time");
-- Create index "webhookdelivery_webhook_id_sequence" to table: "webhook_deliveries"
CREATE UNIQUE INDEX "webhookdelivery_webhook_id_sequence" ON "webhook_deliveries" ("webhook_id", "sequence");
