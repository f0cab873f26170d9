// Command gen writes the next versioned migration for a dialect by replaying
// the existing migrations on a clean dev database and diffing the result
// against the ent schema. Run from the repository root:
//
//	go run ./migrations/gen -dialect sqlite -name add_thing
//	go run ./migrations/gen -dialect postgres -dev-url postgres://…/empty_db -name add_thing
//
// Some objects cannot be expressed in ent schemas — the FTS5 search table
// and its triggers, a generated column, a trigram index — so they are
// written by hand into a migration of their own; the diff ignores them (see
// handWritten). After writing or editing such a file, refresh the
// directory's checksums:
//
//	go run ./migrations/gen -dialect sqlite -hash
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	atlasschema "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"

	entmigrate "github.com/meshplane/meshplane/server/ent/migrate"
	"github.com/meshplane/meshplane/server/store"
)

func main() {
	dialectName := flag.String("dialect", "sqlite", "sqlite or postgres")
	name := flag.String("name", "changes", "migration name")
	devURL := flag.String("dev-url", "", "clean PostgreSQL database to replay on (postgres only)")
	hash := flag.Bool("hash", false, "only rewrite atlas.sum, after a hand-written migration")
	flag.Parse()
	if *hash {
		if err := rehash(*dialectName); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(context.Background(), *dialectName, *name, *devURL); err != nil {
		log.Fatal(err)
	}
}

// rehash rewrites the checksums of a dialect's migration directory.
func rehash(dialectName string) error {
	if dialectName != "sqlite" && dialectName != "postgres" {
		return fmt.Errorf("unknown dialect %q", dialectName)
	}
	dir, err := migrate.NewLocalDir(filepath.Join("migrations", dialectName))
	if err != nil {
		return err
	}
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	if err := migrate.WriteSumFile(dir, sum); err != nil {
		return err
	}
	fmt.Printf("rewrote migrations/%s/atlas.sum\n", dialectName)
	return nil
}

// Objects the hand-written migrations create and ent's schemas do not know.
// SQLite changes a table by rebuilding it, which loses such an index: a
// generated SQLite migration that rebuilds provisioning_runs must create
// provisioningrun_one_active_per_product_environment again (TestOneActiveRunPerProduct
// fails otherwise).
var (
	handTables  = []string{"data_product_search"} // and FTS5's shadow tables, data_product_search_*
	handColumns = map[string][]string{"data_products": {"health"}}
	handIndexes = map[string][]string{"data_products": {"dataproduct_facets", "dataproduct_search_trgm"},
		"provisioning_runs": {"provisioningrun_one_active_per_product", "provisioningrun_one_active_per_product_environment"}}
)

// handWritten drops from a diff every change that would undo what the
// hand-written migrations created.
func handWritten(next schema.Differ) schema.Differ {
	return schema.DiffFunc(func(current, desired *atlasschema.Schema) ([]atlasschema.Change, error) {
		changes, err := next.Diff(current, desired)
		if err != nil {
			return nil, err
		}
		out := changes[:0]
		for _, c := range changes {
			switch c := c.(type) {
			case *atlasschema.DropTable:
				if slices.ContainsFunc(handTables, func(t string) bool { return c.T.Name == t || strings.HasPrefix(c.T.Name, t+"_") }) {
					continue
				}
			case *atlasschema.ModifyTable:
				kept := c.Changes[:0]
				for _, tc := range c.Changes {
					switch tc := tc.(type) {
					case *atlasschema.DropColumn:
						if slices.Contains(handColumns[c.T.Name], tc.C.Name) {
							continue
						}
					case *atlasschema.DropIndex:
						if slices.Contains(handIndexes[c.T.Name], tc.I.Name) {
							continue
						}
					}
					kept = append(kept, tc)
				}
				if len(kept) == 0 {
					continue
				}
				c.Changes = kept
			}
			out = append(out, c)
		}
		return out, nil
	})
}

func run(ctx context.Context, dialectName, name, devURL string) error {
	var url, dirName string
	switch dialectName {
	case "sqlite":
		tmp, err := os.MkdirTemp("", "meshplane-migrate")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		url, dirName = "sqlite://"+filepath.Join(tmp, "dev.db"), "sqlite"
	case "postgres":
		if devURL == "" {
			return fmt.Errorf("postgres needs -dev-url pointing at a clean database")
		}
		url, dirName = devURL, "postgres"
	default:
		return fmt.Errorf("unknown dialect %q", dialectName)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, err := migrate.NewLocalDir(filepath.Join("migrations", dirName))
	if err != nil {
		return err
	}
	m, err := schema.NewMigrate(st.Driver,
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres}[dialectName]),
		schema.WithFormatter(migrate.DefaultFormatter),
		schema.WithDropIndex(true),
		schema.WithDropColumn(true),
		schema.WithErrNoPlan(true),
		schema.WithDiffHook(handWritten),
	)
	if err != nil {
		return err
	}
	if err := m.NamedDiff(ctx, name, entmigrate.Tables...); err != nil {
		if err == migrate.ErrNoPlan {
			fmt.Println("no changes: migrations match the schema")
			return nil
		}
		return fmt.Errorf("diffing: %w", err)
	}
	fmt.Printf("wrote a new %s migration in migrations/%s\n", name, dirName)
	return nil
}
