package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/meshplane/meshplane/server/ent/domain"
)

// On SQLite, reads outside transactions run through statements prepared
// once; reads inside transactions, writes, and queries past the cache's
// bound behave as before.
func TestSQLiteReadsUsePreparedStatements(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Client.Domain.Create().SetName("sales").SetDescription("d").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	drv := st.stmts
	if drv == nil {
		t.Fatal("the SQLite store keeps no prepared statements")
	}
	before := len(drv.stmts)
	for range 3 {
		d, err := st.Client.Domain.Query().Where(domain.Name("sales")).Only(ctx)
		if err != nil || d.Description != "d" {
			t.Fatalf("read: %v %v", d, err)
		}
	}
	if n := len(drv.stmts) - before; n != 1 {
		t.Errorf("%d statements added by three reads of one shape, want 1", n)
	}
	tx, err := st.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Domain.Create().SetName("hr").SetDescription("h").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := tx.Domain.Query().Count(ctx); err != nil || n != 2 {
		t.Fatalf("count inside the transaction = %d, %v", n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Past the bound, queries still answer.
	for i := range maxCachedStatements + 5 {
		names := make([]string, i%700+1)
		for j := range names {
			names[j] = fmt.Sprint("d", j)
		}
		names[0] = "hr"
		if n, err := st.Client.Domain.Query().Where(domain.NameIn(names...)).Count(ctx); err != nil || n != 1 {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if n := len(drv.stmts); n > maxCachedStatements {
		t.Errorf("%d statements kept, bound %d", n, maxCachedStatements)
	}
}
