-- Modify "provisioning_runs" table
ALTER TABLE "provisioning_runs" ADD COLUMN "policy_version" character varying NOT NULL DEFAULT '';
