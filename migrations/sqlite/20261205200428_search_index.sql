-- Written by hand: catalog search and facets, which ent schemas cannot
-- express (migrations/gen leaves these objects alone).
--
-- "health" is derived from provisioned_version and drift exactly as
-- catalog.HealthOf derives it; the PostgreSQL migration spells the same rule.
ALTER TABLE `data_products` ADD COLUMN `health` text GENERATED ALWAYS AS (CASE WHEN `provisioned_version` IS NULL THEN 'not_provisioned' WHEN json_type(`drift`) = 'array' AND json_array_length(`drift`) > 0 THEN 'drifted' ELSE 'in_sync' END) VIRTUAL;
-- Facet counts read this index alone, never the products' large JSON columns.
CREATE INDEX `dataproduct_facets` ON `data_products` (`domain`, `lifecycle`, `health`, `classifications`);
-- The full-text index of search_text: trigrams, so any substring of three or
-- more characters is an index lookup. It is an external-content table over
-- data_products keyed by rowid, which VACUUM preserves in the SQLite meshplane
-- embeds; search_text is already lower-cased, so matching is case-sensitive.
CREATE VIRTUAL TABLE `data_product_search` USING fts5(`search_text`, content='data_products', tokenize='trigram case_sensitive 1');
-- The triggers keep the index in the transaction of every product write.
CREATE TRIGGER `data_product_search_insert` AFTER INSERT ON `data_products` BEGIN
  INSERT INTO `data_product_search` (rowid, `search_text`) VALUES (new.rowid, new.`search_text`);
END;
CREATE TRIGGER `data_product_search_delete` AFTER DELETE ON `data_products` BEGIN
  INSERT INTO `data_product_search` (`data_product_search`, rowid, `search_text`) VALUES ('delete', old.rowid, old.`search_text`);
END;
CREATE TRIGGER `data_product_search_update` AFTER UPDATE OF `search_text` ON `data_products` BEGIN
  INSERT INTO `data_product_search` (`data_product_search`, rowid, `search_text`) VALUES ('delete', old.rowid, old.`search_text`);
  INSERT INTO `data_product_search` (rowid, `search_text`) VALUES (new.rowid, new.`search_text`);
END;
-- Index what is there; products written before search_text existed get their
-- text when meshplane next migrates (store.Migrate backfills it).
INSERT INTO `data_product_search` (`data_product_search`) VALUES ('rebuild');
