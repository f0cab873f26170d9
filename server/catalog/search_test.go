package catalog

import (
	"slices"
	"testing"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
)

// TestTextPredicate pins the SQL each dialect runs for a text search: the
// full-text index on SQLite for words of three characters or more, LIKE
// with every wildcard escaped for the rest and on PostgreSQL.
func TestTextPredicate(t *testing.T) {
	for _, c := range []struct {
		dialect, text, query string
		args                 []any
	}{
		{dialect.SQLite, `Email "x"`, "SELECT * FROM `data_products` WHERE +`data_products`.`rowid` IN (SELECT rowid FROM data_product_search WHERE data_product_search MATCH ?)",
			[]any{`"email" """x"""`}},
		{dialect.SQLite, `a% pii`, "SELECT * FROM `data_products` WHERE `data_products`.`search_text` LIKE ? ESCAPE '\\' AND +`data_products`.`rowid` IN (SELECT rowid FROM data_product_search WHERE data_product_search MATCH ?)",
			[]any{`%a\%%`, `"pii"`}},
		{dialect.Postgres, `E_mail 100%`, `SELECT * FROM "data_products" WHERE "data_products"."search_text" LIKE $1 ESCAPE '\' AND "data_products"."search_text" LIKE $2 ESCAPE '\'`,
			[]any{`%e\_mail%`, `%100\%%`}},
	} {
		sel := sql.Dialect(c.dialect).Select("*").From(sql.Table(dataproduct.Table))
		textPredicate(c.dialect, spec.SearchTerms(c.text))(sel)
		q, args := sel.Query()
		if q != c.query || !slices.Equal(args, c.args) {
			t.Errorf("%s %q:\n got %s %q\nwant %s %q", c.dialect, c.text, q, args, c.query, c.args)
		}
	}
}

func TestCheckSearch(t *testing.T) {
	var v errs.Violations
	checkSearch(&v, ListProductsInput{Text: "a b", Health: "broken", Classification: spec.ClassUnclassified})
	checkSearch(&v, ListProductsInput{Classification: "secret"})
	var paths []string
	for _, f := range v.List() {
		paths = append(paths, f.Path)
	}
	if !slices.Equal(paths, []string{"health", "classification"}) {
		t.Fatalf("violations at %v", paths)
	}
}
