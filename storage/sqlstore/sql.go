package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/partnermail/partnermail/storage"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// rebind turns the ? placeholders of q into $1, $2… for PostgreSQL. A ?
// inside a quoted string or identifier is left alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// conn runs queries written with ? placeholders on a database or a
// transaction, rebinding them for PostgreSQL.
type conn struct {
	q       querier
	pg      bool
	stmts   *stmtCache // SQLite: prepared statements of the database q belongs to
	planned bool       // PostgreSQL: plan each statement for its arguments (perArgs)
}

// perArgs returns c planning each statement for its arguments, as an
// unnamed statement, on PostgreSQL. pgx otherwise prepares a statement
// once per connection, and after five runs PostgreSQL may keep a
// generic plan, made without the arguments: for the IMAP changes after
// a STORE of 1,000 flags that was a scan of all of imap_uids (24 ms
// instead of 2.5), and which plan a pooled connection kept depended on
// the ranges of its first runs. The IMAP view's statements take ranges
// of UIDs and modseqs, and use it (imapRead, imapWrite); the rest keep
// their plans: planning every statement of a delivery cost 15-35% of
// PostgreSQL's deliveries per second (BenchmarkDeliverParallel).
func (c conn) perArgs() conn {
	c.planned = c.pg
	return c
}

// args prepends to args what makes pgx plan the statement for them.
func (c conn) args(args []any) []any {
	if !c.planned {
		return args
	}
	return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
}

func (c conn) bind(q string) string {
	if c.pg {
		return rebind(q)
	}
	return q
}

// Exec runs a statement.
func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, c.bind(q), c.args(args)...)
}

// Query runs a query returning rows.
func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, c.bind(q), c.args(args)...)
}

// QueryRow runs a query returning at most one row.
func (c conn) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, c.bind(q), c.args(args)...)
}

// stmt returns the cached prepared statement for q, bound to the
// transaction when c is one; nil without a cache.
func (c conn) stmt(ctx context.Context, q string) *sql.Stmt {
	if c.stmts == nil {
		return nil
	}
	st := c.stmts.get(ctx, q)
	if st == nil {
		return nil
	}
	if tx, ok := c.q.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st)
	}
	return st
}

// Tx is one write transaction: a savepoint of a group-committed transaction
// for SQLite, a transaction of its own for PostgreSQL.
type Tx struct{ conn }

// read returns the reader pool.
func (s *Store) read() conn { return conn{q: s.r, pg: s.pg, stmts: s.rstmts} }

// imapRead is read for the IMAP view: see conn.perArgs.
func (s *Store) imapRead() conn { return s.read().perArgs() }

// imapWrite is write for the IMAP view: see conn.perArgs.
func (s *Store) imapWrite(ctx context.Context, fn func(tx *Tx) error) error {
	return s.write(ctx, func(tx *Tx) error {
		tx.conn = tx.conn.perArgs()
		return fn(tx)
	})
}

// write runs fn in a write transaction and returns once it is durably
// committed, or rolled back when fn or the commit fails.
func (s *Store) write(ctx context.Context, fn func(tx *Tx) error) error {
	if s.gc != nil {
		return s.gc.do(ctx, fn)
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{conn{q: sqlTx, pg: s.pg, stmts: s.wstmts}}); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ms converts a time to unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts unix milliseconds to a time; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// now is the current time truncated to what the database keeps.
func now() time.Time { return time.UnixMilli(time.Now().UnixMilli()) }

// nullID maps 0 to NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// notFound turns sql.ErrNoRows into storage.ErrNotFound naming what was
// looked up; other errors are wrapped with it.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// nextModseq takes the company's next modification sequence number; every
// message inserted or changed in tx gets it.
func nextModseq(ctx context.Context, tx *Tx, companyID int64) (int64, error) {
	var v int64
	err := tx.QueryRow(ctx, `UPDATE modseq SET value = value + 1 WHERE company_id = ? RETURNING value`, companyID).Scan(&v)
	if err != nil {
		return 0, notFound(err, "next modseq")
	}
	return v, nil
}
