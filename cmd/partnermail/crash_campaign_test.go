package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

func TestCrashCampaignSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary; skipped with -short")
	}
	for _, driver := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(driver, func(t *testing.T) {
			dir := t.TempDir()
			dsn := ""
			if driver == sqlstore.Postgres {
				dsn = pgSchema(t)
			}
			snk := newSink(t)
			conf := procConfig(t, dir, dsn, snk.addr, "")
			const members = 1000
			setupCompany(t, conf, members)
			p := startProc(t, conf)
			body := filepath.Join(dir, "body.txt")
			os.WriteFile(body, []byte("Campaign body.\n"), 0o600)
			pm(t, conf, "", "campaign", "send", "--company", "acme", "--from", fxStaff, "--subject", "Crash", "--body-file", body)
			waitFor(t, 2*time.Minute, "a third of the campaign to be delivered", func() bool { return snk.total() >= members/3 })
			p.kill()
			before := snk.total()
			p = startProc(t, conf)
			// The emails claimed by the killed process stay leased (10
			// minutes) so that no live claimer sends them twice; once the
			// others are out, let the leases run out.
			waitFor(t, 5*time.Minute, "every unleased email to be delivered after the restart", func() bool {
				return queued(t, driver, dsn, dir) <= leased(t, driver, dsn, dir)
			})
			expireLeases(t, driver, dsn, dir)
			waitFor(t, 5*time.Minute, "every member to get the campaign after the leases ran out", func() bool {
				_, byRcpt := snk.counts()
				return len(byRcpt) >= members
			})
			p.stop()
			byID, byRcpt := snk.counts()
			dups := 0
			for i := range members {
				switch n := byRcpt[memberAddr(i)]; {
				case n == 0:
					t.Errorf("%s never received the campaign", memberAddr(i))
				case n > 1:
					dups += n - 1
				}
			}
			for id, n := range byID {
				if n > 1 {
					t.Logf("Message-ID %s delivered %d times (in flight at the kill)", id, n)
				}
			}
			t.Logf("%s: campaign of %d, SIGKILL after %d delivered: all delivered after restart, %d duplicates", driver, members, before, dups)
		})
	}
}

// queueDB opens the gateway's database beside it (SQLite in WAL mode
// allows it) for the queue checks below.
func queueDB(t *testing.T, driver, dsn, dir string) *sql.DB {
	t.Helper()
	name, src := "pgx", dsn
	if driver == sqlstore.SQLite {
		name, src = "sqlite", "file:"+filepath.Join(dir, "partnermail.db")+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(name, src)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func queueCount(t *testing.T, driver, dsn, dir, where string, args ...any) int {
	t.Helper()
	db := queueDB(t, driver, dsn, dir)
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM outbound WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatalf("count queue: %v", err)
	}
	return n
}

// queued counts the emails not yet sent.
func queued(t *testing.T, driver, dsn, dir string) int {
	return queueCount(t, driver, dsn, dir, "state = 'queued'")
}

// leased counts the queued emails whose next attempt is beyond a minute:
// the ones claimed by the killed process.
func leased(t *testing.T, driver, dsn, dir string) int {
	return queueCount(t, driver, dsn, dir, "state = 'queued' AND next_attempt_at > "+fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
}

// expireLeases makes every queued email due now, as the end of the lease
// would.
func expireLeases(t *testing.T, driver, dsn, dir string) {
	t.Helper()
	db := queueDB(t, driver, dsn, dir)
	defer db.Close()
	if _, err := db.Exec("UPDATE outbound SET next_attempt_at = 0 WHERE state = 'queued'"); err != nil {
		t.Fatalf("expire leases: %v", err)
	}
}
