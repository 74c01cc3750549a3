package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds a stmtCache: queries built at run time (IN lists
// of varying length) must not grow it without end; past the bound they
// are simply parsed each time, as without the cache.
const maxCachedStmts = 512

// stmtCache keeps one prepared statement per query text of one SQLite
// *sql.DB. modernc.org/sqlite parses every query text it is given, and
// parsing was a third of the CPU of the inbound listener under load,
// much of it in the single group-commit writer. database/sql prepares a
// cached statement once per connection and reuses it inside
// transactions on the same connection (Tx.StmtContext). PostgreSQL needs
// no cache: pgx caches statements itself.
//
// The writer's cache is lazy: its one connection is busy inside the
// group-commit transaction whenever a statement is needed, so a missing
// statement is only noted, and prepared by the committer once the batch
// has committed (prepareNoted).
type stmtCache struct {
	db    *sql.DB
	lazy  bool
	mu    sync.Mutex
	m     map[string]*sql.Stmt
	noted map[string]bool
}

func newStmtCache(db *sql.DB, lazy bool) *stmtCache {
	return &stmtCache{db: db, lazy: lazy, m: make(map[string]*sql.Stmt), noted: make(map[string]bool)}
}

// get returns the statement for q, preparing it on first use (or noting
// it, when lazy); nil when it is not prepared (the caller then runs q as
// text, which also reports any error in it) or the cache is full.
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	if len(c.m)+len(c.noted) >= maxCachedStmts {
		return nil
	}
	if c.lazy {
		c.noted[q] = true
		return nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.m[q] = st
	return st
}

// prepareNoted prepares the statements noted since the last call; the
// caller guarantees a free connection (the committer, between batches).
func (c *stmtCache) prepareNoted(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.noted {
		delete(c.noted, q)
		if st, err := c.db.PrepareContext(ctx, q); err == nil {
			c.m[q] = st
		}
	}
}

// close closes the statements; the cache must not be used afterwards.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}
