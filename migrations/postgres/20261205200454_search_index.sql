-- Written by hand: catalog search and facets, which ent schemas cannot
-- express (migrations/gen leaves these objects alone).
--
-- pg_trgm is a trusted extension: a role that may create objects in the
-- database may install it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- "health" is derived from provisioned_version and drift exactly as
-- catalog.HealthOf derives it; the SQLite migration spells the same rule.
-- The inner CASE keeps jsonb_array_length from ever seeing a non-array.
ALTER TABLE "data_products" ADD COLUMN "health" character varying GENERATED ALWAYS AS (CASE WHEN "provisioned_version" IS NULL THEN 'not_provisioned' WHEN (CASE WHEN jsonb_typeof("drift") = 'array' THEN jsonb_array_length("drift") > 0 ELSE false END) THEN 'drifted' ELSE 'in_sync' END) STORED;
-- Facet counts read this index alone where they can.
CREATE INDEX "dataproduct_facets" ON "data_products" ("domain", "lifecycle", "health", "classifications");
-- Trigrams of search_text, so LIKE '%term%' of three or more characters is
-- an index lookup; search_text is already lower-cased, so LIKE, not ILIKE.
CREATE INDEX "dataproduct_search_trgm" ON "data_products" USING gin ("search_text" gin_trgm_ops);
