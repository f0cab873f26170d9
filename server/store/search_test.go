package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshplane/meshplane/server/app/apptest"
	"github.com/meshplane/meshplane/server/ent/dataproduct"
	"github.com/meshplane/meshplane/server/spec"
	"github.com/meshplane/meshplane/server/store"
)

// openMigrated opens a fresh, migrated catalog: SQLite, or PostgreSQL when
// MESHPLANE_TEST_POSTGRES names a server.
func openMigrated(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "catalog.db")
	if base := os.Getenv(apptest.PostgresEnv); base != "" {
		url = apptest.NewPostgresDatabase(t, base)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMigrateBackfillsSearch writes products the way meshplane did before
// search existed — no search text — and has the next migration derive it,
// leaving update times alone, so search finds them.
func TestMigrateBackfillsSearch(t *testing.T) {
	st := openMigrated(t)
	ctx := context.Background()
	p := spec.Product{Description: "Orders placed in the web shop", Ports: []spec.OutputPort{{Name: "customers", Fields: []spec.Field{
		{Name: "customer_id", Classification: spec.ClassNone}, {Name: "email", Classification: spec.ClassPII, Tags: []string{"contact"}},
	}}}}
	const n = 450 // more than one backfill batch
	for i := range n {
		if _, err := st.Client.DataProduct.Create().SetDomain("sales").SetName(name(i)).SetDescription(p.Description).
			SetSource(spec.Source{}).SetPorts(p.Ports).Save(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before, err := st.Client.DataProduct.Query().Where(dataproduct.Name(name(7))).Only(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := st.Client.DataProduct.Query().Where(dataproduct.SearchText("")).Count(ctx)
	if err != nil || left != 0 {
		t.Fatalf("%d products left without search text (%v)", left, err)
	}
	after, err := st.Client.DataProduct.Query().Where(dataproduct.Name(name(7))).Only(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.SearchText != spec.SearchText(name(7), p) || after.Classifications != spec.ClassificationBits(p) ||
		!after.UpdateTime.Equal(before.UpdateTime) || after.Version != before.Version {
		t.Fatalf("backfilled %q %b, updated %v (was %v), version %d", after.SearchText, after.Classifications, after.UpdateTime, before.UpdateTime, after.Version)
	}
	// The database's own search index sees the backfilled text.
	q := `SELECT count(*) FROM data_product_search WHERE data_product_search MATCH '"email"'`
	if st.Dialect == "postgres" {
		q = `SELECT count(*) FROM data_products WHERE search_text LIKE '%email%'`
	}
	var found int
	if err := st.DB.QueryRowContext(ctx, q).Scan(&found); err != nil || found != n {
		t.Fatalf("the search index finds %d products (%v), want %d", found, err, n)
	}
}

func name(i int) string {
	return "product-" + string(rune('a'+i/26/26%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i%26))
}
