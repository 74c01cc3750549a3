// Package sqlstore implements storage.Store on embedded SQLite
// (modernc.org/sqlite, pure Go) and on PostgreSQL (pgx/v5) with one set of
// queries through database/sql.
//
// Queries are written once with ? placeholders; the conn and Tx helpers
// rebind them to $n for PostgreSQL. Every write goes through Store.write:
// with SQLite it joins a group-committed transaction of the single writer
// connection (one fsync for many concurrent writers, a savepoint for each
// so one failure does not fail the others); with PostgreSQL it is a plain
// transaction of the pool.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// Drivers supported by Open.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Config configures Open. Zero values mean defaults.
type Config struct {
	// Driver is SQLite (default) or Postgres.
	Driver string
	// DSN is the PostgreSQL connection string, or the SQLite database file
	// (default DataDir/partnermail.db).
	DSN string
	// DataDir holds the SQLite database and its blob files (default
	// "partnermail-data").
	DataDir string
	// Logger receives the store's logs (default slog.Default()).
	Logger *slog.Logger
	// MaxBatch bounds how many writes one SQLite group commit carries
	// (default 256).
	MaxBatch int
	// BusyTimeout is how long SQLite waits for another process's lock
	// (default 10s).
	BusyTimeout time.Duration
	// ReadConns is the size of the reader pool (default 8).
	ReadConns int
	// InlineBlobMax is the size up to which SQLite keeps a blob inside the
	// database, committed with other writes (default 64 KiB; negative:
	// every blob is a file).
	InlineBlobMax int
}

// Store is a storage.Store on SQLite or PostgreSQL.
type Store struct {
	cfg   Config
	log   *slog.Logger
	pg    bool
	w     *sql.DB // writes (SQLite: one connection); reads inside writes
	r     *sql.DB // reads; the same pool as w for PostgreSQL
	gc    *committer
	blobs storage.BlobStore
	// wstmts and rstmts cache the prepared statements of w and r
	// (SQLite only; nil for PostgreSQL).
	wstmts, rstmts *stmtCache
	// idList is how many ids the IN (...) lists of IMAPEnvelopes hold
	// on SQLite: 500 (tests set fewer).
	idList int
}

var (
	_ storage.AdminStore   = (*Store)(nil)
	_ storage.MessageStore = (*Store)(nil)
)

// Open connects to the database named by cfg, applies pending migrations
// and returns the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Driver == "" {
		cfg.Driver = SQLite
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "partnermail-data"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	if cfg.ReadConns <= 0 {
		cfg.ReadConns = 8
	}
	if cfg.InlineBlobMax == 0 {
		cfg.InlineBlobMax = 64 << 10
	}
	s := &Store{cfg: cfg, log: cfg.Logger, idList: 500}
	var err error
	switch cfg.Driver {
	case SQLite:
		err = s.openSQLite(ctx)
	case Postgres, "pgx":
		s.pg = true
		err = s.openPostgres(ctx)
	default:
		return nil, fmt.Errorf("open store: unknown driver %q (want %q or %q)", cfg.Driver, SQLite, Postgres)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the group committer and closes the database.
func (s *Store) Close() error {
	if s.gc != nil {
		s.gc.close()
	}
	for _, c := range []*stmtCache{s.wstmts, s.rstmts} {
		if c != nil {
			c.close()
		}
	}
	var errs []error
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Blobs returns the blob store: files under DataDir/blobs (with small
// blobs inside the database) for SQLite, chunked rows for PostgreSQL.
func (s *Store) Blobs() storage.BlobStore { return s.blobs }

// OutOfProcess reports whether the database runs in a process of its
// own (PostgreSQL): a query then costs the caller a wait, not CPU, and
// can overlap the caller's own work. SQLite runs inside the caller.
func (s *Store) OutOfProcess() bool { return s.pg }

// Driver reports SQLite or Postgres.
func (s *Store) Driver() string {
	if s.pg {
		return Postgres
	}
	return SQLite
}
