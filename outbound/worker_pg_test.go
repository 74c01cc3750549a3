package outbound

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"sync"
	"testing"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// openShared opens n stores on one fresh PostgreSQL schema: n gateway
// processes sharing a database.
func openShared(t *testing.T, n int) []*sqlstore.Store {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	var out []*sqlstore.Store
	for range n {
		st, err := sqlstore.Open(ctx, sqlstore.Config{Driver: sqlstore.Postgres, DSN: u.String(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out = append(out, st)
	}
	return out
}

// TestWorkersSharePostgres runs two workers, each with its own store (as
// two processes would), on one queue: every email is sent exactly once.
func TestWorkersSharePostgres(t *testing.T) {
	stores := openShared(t, 2)
	f := storagetest.NewFixture(t, stores[0], "a")
	env := newWkEnvStore(t, stores[0], f)
	const n = 400
	emails := env.queue(t, n)
	var wg sync.WaitGroup
	for _, st := range stores {
		w := env.worker(t, WorkerConfig{Store: st, Transport: env.newRelay(t, RelayConfig{}), Workers: 4})
		wg.Add(1)
		go func() {
			defer wg.Done()
			flush(t, w)
		}()
	}
	wg.Wait()
	sent := map[string]int{}
	for _, r := range env.relay.emails() {
		sent[r.To[0]]++
	}
	for _, e := range emails {
		if sent[e.Rcpt] != 1 {
			t.Errorf("%s received %d emails, want 1", e.Rcpt, sent[e.Rcpt])
		}
	}
	if len(sent) != n {
		t.Errorf("%d recipients reached, want %d", len(sent), n)
	}
	if c := env.relay.connections(); c > 8 {
		t.Errorf("%d relay connections for 2×4 workers", c)
	}
}
