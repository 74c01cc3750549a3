package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/internal/testenv"
)

// Drivers lists the backends a test suite runs on.
func Drivers() []string { return []string{SQLite, Postgres} }

// EachDriver runs fn as a parallel subtest named after each driver.
func EachDriver(t *testing.T, fn func(t *testing.T, driver string)) {
	t.Helper()
	for _, d := range Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// OpenTest returns a fresh migrated store for a test, closed by t.Cleanup:
// SQLite in t.TempDir(), or PostgreSQL (PARTNERMAIL_TEST_POSTGRES; skipped
// without it, failed under CI=true) in a schema of its own that is dropped
// afterwards, so tests may run in parallel.
func OpenTest(t testing.TB, driver string) *Store {
	t.Helper()
	ctx := context.Background()
	cfg := Config{Driver: driver, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	if driver == Postgres {
		cfg.DSN = testSchema(t, testenv.PostgresDSN(t))
	}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenTest(%s): %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testSchema creates a schema with a random name, drops it when the test
// ends, and returns dsn with its search_path set to it.
func testSchema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		db.Close()
		t.Fatalf("create test schema: %v", err)
	}
	// Registered before the store's own Close, so it runs after it.
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", name, err)
		}
	})
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " search_path=" + name
}
