package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// sentBy reads how many emails a process's worker sent from its /metrics.
func sentBy(t *testing.T, p *proc) int {
	t.Helper()
	const series = `partnermail_outbound_attempts_total{result="sent"} `
	for _, line := range strings.Split(p.metrics(t), "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return 0
}

// TestScaleOutTwoProcesses runs two serve processes on one PostgreSQL
// schema and proves what scale-out promises: no outbound email sent twice,
// no UID or Message-ID collision, IMAP changes crossing processes.
func TestScaleOutTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	dsn := pgSchema(t)
	snk := newSink(t)
	base := t.TempDir()
	conf1 := procConfig(t, filepath.Join(base, "p1"), dsn, snk.addr, "")
	conf2 := procConfig(t, filepath.Join(base, "p2"), dsn, snk.addr, "")
	const members = 400
	setupCompany(t, conf1, members)
	p1, p2 := startProc(t, conf1), startProc(t, conf2)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	t.Run("flag change reaches IDLE on the other process", func(t *testing.T) {
		deliverFixture(t, dsn, "idle-1@team.localhost")
		seen := make(chan time.Time, 16)
		exists := make(chan time.Time, 16)
		c2 := imapLogin(t, p2.addr(t, "imap"), &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- time.Now()
				}
			},
			Fetch: func(m *imapclient.FetchMessageData) {
				buf, err := m.Collect()
				if err != nil {
					return
				}
				for _, f := range buf.Flags {
					if f == imap.FlagSeen {
						seen <- time.Now()
					}
				}
			},
		})
		if _, err := c2.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("process 2: SELECT INBOX: %v", err)
		}
		idle, err := c2.Idle()
		if err != nil {
			t.Fatalf("process 2: IDLE: %v", err)
		}
		c1 := imapLogin(t, p1.addr(t, "imap"), nil)
		if _, err := c1.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("process 1: SELECT INBOX: %v", err)
		}
		target := uidOf(t, c1, "idle-1@team.localhost")
		start := time.Now()
		if err := c1.Store(imap.UIDSetNum(target), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			t.Fatalf("process 1: STORE +FLAGS \\Seen: %v", err)
		}
		select {
		case at := <-seen:
			d := at.Sub(start)
			t.Logf("flag change through process 1 reached IDLE on process 2 after %s", d)
			if d > time.Second {
				t.Errorf("flag change took %s to cross processes, want within a second", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("process 2's IDLE session never saw the \\Seen set through process 1")
		}

		// New mail accepted by process 1 reaches the same session.
		start = time.Now()
		if err := sendInbound(p1.addr(t, "smtp"), memberAddr(1), "idle-2@team.localhost", "New mail"); err != nil {
			t.Fatalf("process 1: inbound: %v", err)
		}
		select {
		case at := <-exists:
			t.Logf("new mail through process 1 reached IDLE on process 2 %s after its SMTP transaction began", at.Sub(start))
		case <-time.After(10 * time.Second):
			t.Fatalf("process 2's IDLE session never saw EXISTS for mail accepted by process 1")
		}
		idle.Close()
		idle.Wait()
	})

	t.Run("campaign sent once", func(t *testing.T) {
		body := filepath.Join(t.TempDir(), "body.txt")
		os.WriteFile(body, []byte("Our new price list is out.\n"), 0o600)
		out := pm(t, conf1, "", "campaign", "send", "--company", "acme", "--from", fxStaff, "--subject", "Price list", "--body-file", body)
		t.Logf("campaign send: %s", strings.TrimSpace(out))
		waitFor(t, 3*time.Minute, "every campaign email to be sent", func() bool {
			var left int
			db.QueryRow("SELECT count(*) FROM outbound WHERE state = 'queued'").Scan(&left)
			return left == 0 && snk.total() >= members
		})
		var failed int
		db.QueryRow("SELECT count(*) FROM outbound WHERE state <> 'sent'").Scan(&failed)
		if failed != 0 {
			t.Errorf("%d campaign emails not sent", failed)
		}
		byID, byRcpt := snk.counts()
		if len(byID) != members || snk.total() != members {
			t.Errorf("sink got %d emails with %d distinct Message-IDs, want %d and %d", snk.total(), len(byID), members, members)
		}
		for id, n := range byID {
			if n != 1 || id == "" {
				t.Errorf("Message-ID %q received %d times", id, n)
			}
		}
		for i := range members {
			if n := byRcpt[memberAddr(i)]; n != 1 {
				t.Errorf("%s received the campaign %d times, want 1", memberAddr(i), n)
			}
		}
		// Both workers took part (else this proves little).
		s1, s2 := sentBy(t, p1), sentBy(t, p2)
		t.Logf("process 1 sent %d, process 2 sent %d", s1, s2)
		if s1 == 0 || s2 == 0 || s1+s2 != members {
			t.Errorf("processes sent %d and %d emails, want both some and %d in all", s1, s2, members)
		}
	})

	const inbound = 200
	t.Run("inbound through both, one UID space", func(t *testing.T) {
		// Sessions on both processes watch INBOX while the mail arrives,
		// so both assign UIDs concurrently as they are woken.
		var watchers []*imapclient.IdleCommand
		for _, p := range []*proc{p1, p2, p1, p2} {
			c := imapLogin(t, p.addr(t, "imap"), nil)
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatalf("SELECT INBOX: %v", err)
			}
			idle, err := c.Idle()
			if err != nil {
				t.Fatalf("IDLE: %v", err)
			}
			watchers = append(watchers, idle)
		}
		var wg sync.WaitGroup
		errs := make(chan error, inbound)
		for i := range inbound {
			addr := p1.addr(t, "smtp")
			if i%2 == 1 {
				addr = p2.addr(t, "smtp")
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := sendInbound(addr, memberAddr(i), fmt.Sprintf("in-%d@team.localhost", i), fmt.Sprintf("Question %d", i)); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, idle := range watchers {
			idle.Close()
			idle.Wait()
		}
		v1 := inboxByUID(t, imapLogin(t, p1.addr(t, "imap"), nil))
		v2 := inboxByUID(t, imapLogin(t, p2.addr(t, "imap"), nil))
		seen := map[string]imap.UID{}
		for uid, id := range v1 {
			if strings.HasPrefix(id, "in-") {
				if other, dup := seen[id]; dup {
					t.Errorf("%s stored twice (UIDs %d and %d)", id, other, uid)
				}
				seen[id] = uid
			}
			if v2[uid] != id {
				t.Errorf("UID %d is %q through process 1 but %q through process 2", uid, id, v2[uid])
			}
		}
		if len(seen) != inbound || len(v1) != len(v2) {
			t.Errorf("INBOX: %d of %d inbound messages through process 1, %d vs %d messages", len(seen), inbound, len(v1), len(v2))
		}
	})

	p1.stop()
	p2.stop()
}
