-- Modify "access_requests" table
ALTER TABLE "access_requests" ADD COLUMN "environment" character varying NOT NULL DEFAULT '';
-- Drop index "grant_product_id_state" from table: "grants"
DROP INDEX "grant_product_id_state";
-- Modify "grants" table
ALTER TABLE "grants" ADD COLUMN "environment" character varying NOT NULL DEFAULT '';
-- Create index "grant_product_id_environment_state" to table: "grants"
CREATE INDEX "grant_product_id_environment_state" ON "grants" ("product_id", "environment", "state");
-- Drop index "kafka_credentials_principal_key" from table: "kafka_credentials"
DROP INDEX "kafka_credentials_principal_key";
-- Modify "kafka_credentials" table
ALTER TABLE "kafka_credentials" ADD COLUMN "environment" character varying NOT NULL DEFAULT '';
-- Create index "kafkacredential_principal_environment" to table: "kafka_credentials"
CREATE UNIQUE INDEX "kafkacredential_principal_environment" ON "kafka_credentials" ("principal", "environment");
