package store

import (
	"context"
	"database/sql"
	"sync"

	entsql "entgo.io/ent/dialect/sql"
)

// maxCachedStatements bounds the statements a cachingDriver keeps: queries
// are built from a few dozen shapes, but an IN list's length is part of its
// text, so the set of texts is not bounded by itself. Past the bound,
// queries run unprepared, as without the cache.
const maxCachedStatements = 512

// cachingDriver runs ent's queries outside transactions through prepared
// statements it keeps, one per query text. SQLite parses every statement it
// is given, and for a catalog read parsing costs as much as running it;
// database/sql prepares a cached statement once per connection and reuses
// it. Writes and everything inside transactions go to the wrapped driver
// unchanged. meshplane sets no ent session variables, which this path
// would not apply.
type cachingDriver struct {
	*entsql.Driver
	db *sql.DB

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newCachingDriver(drv *entsql.Driver, db *sql.DB) *cachingDriver {
	return &cachingDriver{Driver: drv, db: db, stmts: map[string]*sql.Stmt{}}
}

// Query runs query through its prepared statement.
func (d *cachingDriver) Query(ctx context.Context, query string, args, v any) error {
	rows, ok := v.(*entsql.Rows)
	argv, ok2 := args.([]any)
	if !ok || !ok2 {
		return d.Driver.Query(ctx, query, args, v)
	}
	stmt, err := d.stmt(ctx, query)
	if err != nil {
		return err
	}
	if stmt == nil {
		return d.Driver.Query(ctx, query, args, v)
	}
	r, err := stmt.QueryContext(ctx, argv...)
	if err != nil {
		return err
	}
	*rows = entsql.Rows{ColumnScanner: r}
	return nil
}

// stmt returns query's prepared statement, preparing it on first use; nil
// when the cache is full.
func (d *cachingDriver) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	d.mu.RLock()
	s, ok := d.stmts[query]
	full := len(d.stmts) >= maxCachedStatements
	d.mu.RUnlock()
	if ok || full {
		return s, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.stmts[query]; ok {
		return s, nil
	}
	if len(d.stmts) >= maxCachedStatements {
		return nil, nil
	}
	// Prepared outside ctx's lifetime: the statement outlives this query.
	s, err := d.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil, err
	}
	d.stmts[query] = s
	return s, nil
}

// Close closes the statements, then the database.
func (d *cachingDriver) Close() error {
	d.mu.Lock()
	for q, s := range d.stmts {
		s.Close()
		delete(d.stmts, q)
	}
	d.mu.Unlock()
	return d.Driver.Close()
}
