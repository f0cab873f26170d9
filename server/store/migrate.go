package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	atlaspg "ariga.io/atlas/sql/postgres"
	atlassqlite "ariga.io/atlas/sql/sqlite"
	"entgo.io/ent/dialect"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/meshplane/meshplane/migrations"
)

// migrationsTable records which migration versions a database has applied.
const migrationsTable = "meshplane_schema_migrations"

// pgMigrationLock is the advisory lock key that keeps replicas from migrating at once.
const pgMigrationLock = 0x6d657368706c616e // "meshplan"

// Migration is one embedded, versioned migration file.
type Migration struct {
	Version string
	Name    string
	stmts   []string
}

// Migrations returns the embedded migrations of a dialect in version order.
func Migrations(dialectName string) ([]Migration, error) {
	dir := dialectDir(dialectName)
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		data, err := fs.ReadFile(migrations.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		decls, err := scanner(dialectName).ScanStmts(string(data))
		if err != nil {
			return nil, fmt.Errorf("parsing migration %s: %w", e.Name(), err)
		}
		stmts := make([]string, len(decls))
		for i, d := range decls {
			stmts[i] = d.Text
		}
		version, name, _ := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		out = append(out, Migration{Version: version, Name: name, stmts: stmts})
	}
	slices.SortFunc(out, func(a, b Migration) int { return strings.Compare(a.Version, b.Version) })
	return out, nil
}

// scanner splits a dialect's migration files into statements exactly as
// the migration generator's replay does, so a trigger's BEGIN … END body or
// a dollar-quoted function stays one statement.
func scanner(d string) migrate.StmtScanner {
	if d == dialect.Postgres {
		return &atlaspg.Driver{}
	}
	return &atlassqlite.Driver{}
}

func dialectDir(d string) string {
	if d == dialect.Postgres {
		return "postgres"
	}
	return "sqlite"
}

// ErrDatabaseTooNew reports a database migrated by a newer meshplane.
var ErrDatabaseTooNew = errors.New("database schema is newer than this meshplane")

// MigrationStatus describes a database's migration state.
type MigrationStatus struct {
	Applied []string
	Pending []Migration
	Latest  string
	// JobQueuePending are the job queue's (River's) migrations not yet
	// applied; they apply with the catalog's.
	JobQueuePending []int
}

// riverMigrator is River's migrator for the catalog's dialect: the job
// queue's tables live beside the catalog's and migrate with them.
type riverMigrator interface {
	Migrate(ctx context.Context, direction rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error)
	ExistingVersions(ctx context.Context) ([]rivermigrate.Migration, error)
	AllVersions() []rivermigrate.Migration
}

func (s *Store) riverMigrator() (riverMigrator, error) {
	cfg := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	if s.Dialect == dialect.Postgres {
		return rivermigrate.New(riverpgxv5.New(s.Pool), cfg)
	}
	return rivermigrate.New(riversqlite.New(s.DB), cfg)
}

// jobQueuePending returns the job queue's migrations not yet applied.
func (s *Store) jobQueuePending(ctx context.Context) ([]int, error) {
	m, err := s.riverMigrator()
	if err != nil {
		return nil, err
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the job queue's migrations: %w", err)
	}
	have := map[int]bool{}
	for _, v := range existing {
		have[v.Version] = true
	}
	all := m.AllVersions()
	var pending []int
	for _, v := range all {
		if !have[v.Version] {
			pending = append(pending, v.Version)
		}
	}
	if n := len(all); n > 0 {
		for _, v := range existing {
			if v.Version > all[n-1].Version {
				return nil, fmt.Errorf("%w: its job queue has migration %d, this build knows up to %d; upgrade meshplane", ErrDatabaseTooNew, v.Version, all[n-1].Version)
			}
		}
	}
	return pending, nil
}

// Status compares the database's applied migrations with the embedded ones. It
// returns ErrDatabaseTooNew when the database has a version this build does not know.
func (s *Store) Status(ctx context.Context) (MigrationStatus, error) {
	known, err := Migrations(s.Dialect)
	if err != nil {
		return MigrationStatus{}, err
	}
	st := MigrationStatus{}
	if len(known) > 0 {
		st.Latest = known[len(known)-1].Version
	}
	applied, err := s.applied(ctx, s.DB)
	if err != nil {
		return st, err
	}
	st.Applied = applied
	have := map[string]bool{}
	for _, v := range applied {
		have[v] = true
	}
	knownSet := map[string]bool{}
	for _, m := range known {
		knownSet[m.Version] = true
		if !have[m.Version] {
			st.Pending = append(st.Pending, m)
		}
	}
	for _, v := range applied {
		if !knownSet[v] {
			return st, fmt.Errorf("%w: it has migration %s, this build knows up to %s; upgrade meshplane", ErrDatabaseTooNew, v, st.Latest)
		}
	}
	st.JobQueuePending, err = s.jobQueuePending(ctx)
	return st, err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) applied(ctx context.Context, q querier) ([]string, error) {
	if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+migrationsTable+` (version VARCHAR(64) PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at VARCHAR(64) NOT NULL)`); err != nil {
		return nil, fmt.Errorf("creating migrations table: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM `+migrationsTable+` ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Migrate applies every pending migration, each in its own transaction, then
// derives what migrations cannot (BackfillSearch), and returns the versions it
// applied. On PostgreSQL an advisory lock keeps concurrent replicas from
// migrating at the same time.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if s.Dialect == dialect.Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, pgMigrationLock); err != nil {
			return nil, fmt.Errorf("taking migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, pgMigrationLock) //nolint:errcheck
	}
	if _, err := s.applied(ctx, conn); err != nil {
		return nil, err
	}
	st, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, m := range st.Pending {
		if err := s.apply(ctx, conn, m); err != nil {
			return done, fmt.Errorf("applying migration %s_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m.Version)
	}
	if len(st.JobQueuePending) > 0 {
		m, err := s.riverMigrator()
		if err != nil {
			return done, err
		}
		res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return done, fmt.Errorf("migrating the job queue: %w", err)
		}
		for _, v := range res.Versions {
			done = append(done, fmt.Sprintf("river-%03d", v.Version))
		}
	}
	if _, err := s.BackfillSearch(ctx); err != nil {
		return done, err
	}
	return done, nil
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	for _, stmt := range m.stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", firstLine(stmt), err)
		}
	}
	insert := `INSERT INTO ` + migrationsTable + ` (version, name, applied_at) VALUES (?, ?, ?)`
	if s.Dialect == dialect.Postgres {
		insert = `INSERT INTO ` + migrationsTable + ` (version, name, applied_at) VALUES ($1, $2, $3)`
	}
	if _, err := tx.ExecContext(ctx, insert, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("recording migration: %w", err)
	}
	return tx.Commit()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
