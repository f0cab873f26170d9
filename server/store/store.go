// Package store opens the catalog database — embedded SQLite or PostgreSQL —
// applies versioned migrations and runs work in transactions.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/meshplane/meshplane/server/ent"
)

// Store is an open catalog database.
type Store struct {
	DB      *sql.DB
	Client  *ent.Client
	Driver  *entsql.Driver
	Dialect string
	// URL is the database URL with any password removed, safe to log.
	URL string
	// Pool is the PostgreSQL connection pool DB draws from, which the job
	// queue shares (nil on SQLite).
	Pool *pgxpool.Pool
	// stmts keeps the catalog's prepared reads on SQLite (nil on PostgreSQL).
	stmts *cachingDriver
}

// Open connects to databaseURL: "sqlite:///abs/path.db", "sqlite://rel/path.db",
// "postgres://…" or "postgresql://…". It does not migrate; see Migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	var (
		db          *sql.DB
		pool        *pgxpool.Pool
		dialectName string
		err         error
	)
	switch {
	case strings.HasPrefix(databaseURL, "sqlite://"):
		dialectName = dialect.SQLite
		path := strings.TrimPrefix(databaseURL, "sqlite://")
		if path == "" {
			return nil, errors.New("sqlite database url needs a path: sqlite:///path/to/catalog.db")
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("creating database directory: %w", err)
			}
		}
		db, err = sql.Open("sqlite", SQLiteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("opening sqlite: %w", err)
		}
		// WAL lets readers proceed beside the single writer; writers queue on
		// the busy timeout because every transaction begins IMMEDIATE.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(0)
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		dialectName = dialect.Postgres
		cfg, err := pgxpool.ParseConfig(databaseURL)
		if err != nil {
			return nil, fmt.Errorf("opening postgres %s: %w", Redact(databaseURL), err)
		}
		// The catalog and the job queue (whose listener holds one
		// connection) share the pool.
		cfg.MaxConns = 24
		cfg.MaxConnIdleTime = 5 * time.Minute
		if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return nil, fmt.Errorf("opening postgres %s: %w", Redact(databaseURL), err)
		}
		db = stdlib.OpenDBFromPool(pool)
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	default:
		return nil, fmt.Errorf("unsupported database url %q: want sqlite://PATH or postgres://…", Redact(databaseURL))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		if pool != nil {
			pool.Close()
		}
		return nil, fmt.Errorf("connecting to %s: %w", Redact(databaseURL), err)
	}
	drv := entsql.OpenDB(dialectName, db)
	st := &Store{DB: db, Driver: drv, Dialect: dialectName, URL: Redact(databaseURL), Pool: pool}
	if dialectName == dialect.SQLite {
		// pgx keeps prepared statements by itself; SQLite needs us to.
		st.stmts = newCachingDriver(drv, db)
		st.Client = ent.NewClient(ent.Driver(st.stmts))
	} else {
		st.Client = ent.NewClient(ent.Driver(drv))
	}
	return st, nil
}

// SQLiteDSN returns the modernc.org/sqlite DSN meshplane uses for a database file.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.Client.Close()
	if s.Pool != nil {
		s.Pool.Close()
	}
	return err
}

// Tx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
func (s *Store) Tx(ctx context.Context, fn func(tx *ent.Tx) error) (err error) {
	tx, err := s.Client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, fmt.Errorf("rolling back: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// Redact removes the password from a database URL so it can be logged.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable database url>"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
