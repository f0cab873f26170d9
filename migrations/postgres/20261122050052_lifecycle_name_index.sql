-- Drop index "dataproduct_lifecycle" from table: "data_products"
DROP INDEX "dataproduct_lifecycle";
-- Create index "dataproduct_lifecycle_name_domain" to table: "data_products"
CREATE INDEX "dataproduct_lifecycle_name_domain" ON "data_products" ("lifecycle", "name", "domain");
