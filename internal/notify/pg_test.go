package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnermail/partnermail/internal/testenv"
)

// newPGPair starts two hubs on one fresh channel, as two processes would,
// and returns them once both listen. app names the listener connections
// in pg_stat_activity.
func newPGPair(t *testing.T) (a, b *PG, dsnB string) {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	r := make([]byte, 6)
	rand.Read(r)
	channel := "notify_test_" + hex.EncodeToString(r)
	start := func(app string) (*PG, string) {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("PARTNERMAIL_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		ctx, cancel := context.WithCancel(context.Background())
		h, err := NewPG(ctx, PGConfig{DSN: u.String(), Channel: channel, Retry: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("NewPG: %v", err)
		}
		ready, stop := h.Subscribe("ready", 1)
		done := make(chan struct{})
		go func() { h.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done; h.Close() })
		waitWake(t, ready, "first LISTEN")
		stop()
		return h, u.String()
	}
	a, _ = start(channel + "_a")
	b, dsnB = start(channel + "_b")
	return a, b, dsnB
}

// waitWake waits for a wake-up; the deadline only bounds a hang.
func waitWake(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no wake-up", what)
	}
}

func quiet(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Errorf("%s: unexpected wake-up", what)
	default:
	}
}

func TestPGCrossProcess(t *testing.T) {
	a, b, _ := newPGPair(t)
	ctx := context.Background()
	seven, stop7 := b.Subscribe(Mail, 7)
	defer stop7()
	eight, stop8 := b.Subscribe(Mail, 8)
	defer stop8()
	queue, stopQ := b.Subscribe(Queue, 0)
	defer stopQ()
	sentinel, stopS := b.Subscribe(Mail, 99)
	defer stopS()
	mine, stopMine := a.Subscribe(Mail, 7)
	defer stopMine()

	if err := a.Publish(ctx, Mail, 7); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitWake(t, mine, "publisher's own subscriber")
	waitWake(t, seven, "other process, company 7")
	if err := a.Publish(ctx, Queue, 3); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitWake(t, queue, "other process, queue of all companies")
	// Notifications arrive in commit order: once the sentinel is in, an
	// event for company 8 would have been too.
	a.Publish(ctx, Mail, 99)
	waitWake(t, sentinel, "sentinel")
	quiet(t, eight, "company 8 after company 7's event")
	quiet(t, mine, "publisher woken twice (its own NOTIFY echoed back)")
}

func TestPGReconnectWakesEveryone(t *testing.T) {
	a, b, dsnB := newPGPair(t)
	ctx := context.Background()
	five, stop := b.Subscribe(Mail, 5)
	defer stop()

	u, _ := url.Parse(dsnB)
	admin, err := pgx.Connect(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN%'`, u.Query().Get("application_name")).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the listener backend: killed %d, %v", killed, err)
	}
	// Nothing was published: the wake-up comes from the reconnection.
	waitWake(t, five, "after the listener's connection was killed")

	// And events flow again.
	if err := a.Publish(ctx, Mail, 5); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitWake(t, five, "event after reconnection")
}
