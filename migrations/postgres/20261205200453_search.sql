-- Modify "data_products" table
ALTER TABLE "data_products" ADD COLUMN "search_text" text NOT NULL DEFAULT '', ADD COLUMN "classifications" bigint NOT NULL DEFAULT 0;
