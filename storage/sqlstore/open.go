package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// sqliteMmap is how much of the database file SQLite reads through a
// memory map (PRAGMA mmap_size) instead of a pread and a copy per page
// that its page cache (2 MB a connection) does not hold.
const sqliteMmap = 1 << 30

// openSQLite opens the writer connection and the reader pool of the SQLite
// database in WAL mode with full fsync on commit.
func (s *Store) openSQLite(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("open store: data folder: %w", err)
	}
	path := s.cfg.DSN
	if path == "" {
		path = filepath.Join(s.cfg.DataDir, "partnermail.db")
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", s.cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", sqliteMmap))
	q.Add("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("open store %s: %w", path, err)
	}
	q.Set("_pragma", fmt.Sprintf("busy_timeout(%d)", s.cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", sqliteMmap))
	q.Del("_txlock")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return fmt.Errorf("open store: %w", err)
	}
	r.SetMaxOpenConns(s.cfg.ReadConns)
	r.SetMaxIdleConns(s.cfg.ReadConns)
	s.w, s.r = w, r
	s.gc = newCommitter(w, s.cfg.MaxBatch, s.log)
	s.wstmts, s.rstmts = s.gc.stmts, newStmtCache(r, false)
	bs, err := newFileBlobs(s, filepath.Join(s.cfg.DataDir, "blobs"))
	if err != nil {
		s.Close()
		return err
	}
	s.blobs = bs
	return nil
}

// openPostgres opens the pgx pool shared by reads and writes. Its
// sessions cost random pages at 1.1 (random_page_cost; the usual value
// for SSDs and a working set in memory) instead of 4 (spinning disks),
// unless the DSN sets it: with 4, reading the flags of 1,000 UIDs hashed
// all 100,000 rows of message_flags (16.5 ms by EXPLAIN ANALYZE) instead
// of looking the 1,000 up (2.3 ms).
func (s *Store) openPostgres(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(s.cfg.DSN)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if _, ok := cfg.RuntimeParams["random_page_cost"]; !ok {
		cfg.RuntimeParams["random_page_cost"] = "1.1"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(4 * s.cfg.ReadConns)
	db.SetMaxIdleConns(s.cfg.ReadConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("open store: connect to PostgreSQL: %w", err)
	}
	s.w, s.r = db, db
	s.blobs = &pgBlobs{s: s}
	return nil
}
