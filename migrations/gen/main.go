// Command gen writes the next versioned migration for a dialect by replaying
// the existing migrations on a clean dev database and diffing the result
// against the ent schema. Run from the repository root:
//
//	go run ./migrations/gen -dialect sqlite -name add_thing
//	go run ./migrations/gen -dialect postgres -dev-url postgres://…/empty_db -name add_thing
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"

	entmigrate "github.com/meshplane/meshplane/server/ent/migrate"
	"github.com/meshplane/meshplane/server/store"
)

func main() {
	dialectName := flag.String("dialect", "sqlite", "sqlite or postgres")
	name := flag.String("name", "changes", "migration name")
	devURL := flag.String("dev-url", "", "clean PostgreSQL database to replay on (postgres only)")
	flag.Parse()
	if err := run(context.Background(), *dialectName, *name, *devURL); err != nil {
		log.Fatal(err)
	}
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
