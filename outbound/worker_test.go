package outbound

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestWorkerDelivers sends three emails through the relay: each one to its
// member only, with its own envelope sender, over one reused connection.
func TestWorkerDelivers(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newWkEnv(t, driver)
		emails := env.queue(t, 0, env.f.Ann, env.f.Bob, env.f.Sue)
		flush(t, env.worker(t, WorkerConfig{Workers: 1}))

		got := env.relay.emails()
		if len(got) != 3 {
			t.Fatalf("relay got %d emails, want 3", len(got))
		}
		for i, e := range emails {
			r := got[i]
			if !slices.Equal(r.To, []string{e.Rcpt}) {
				t.Errorf("email %d: RCPT TO %v, want exactly [%s]", e.ID, r.To, e.Rcpt)
			}
			if want := fmt.Sprintf("bounce+%d@partners.a.example", e.ID); r.From != want {
				t.Errorf("email %d: MAIL FROM %q, want %q", e.ID, r.From, want)
			}
			if !strings.Contains(r.Data, fmt.Sprintf("Message-ID: <email-%d@partners.a.example>", e.ID)) ||
				!strings.Contains(r.Data, "Hello "+e.Rcpt) {
				t.Errorf("email %d: data %q", e.ID, r.Data)
			}
			if row := env.row(t, e.ID); row.State != storage.QueueSent || row.Attempts != 1 || row.LastError != "" {
				t.Errorf("email %d after sending: %+v", e.ID, row)
			}
		}
		if n := env.relay.connections(); n != 1 {
			t.Errorf("relay saw %d connections for 3 emails, want 1 (reused)", n)
		}
		// Later emails reuse the same connection too.
		env.queue(t, 2)
		flush(t, env.worker(t, WorkerConfig{Workers: 1}))
		if n, d := env.relay.connections(), env.tr.Dials(); n != 1 || d != 1 {
			t.Errorf("after a second batch: %d connections, %d dials; want 1", n, d)
		}
	})
}

// TestWorkerRelayDown: with the relay unreachable the emails stay queued
// for a later attempt, and go out once it is back.
func TestWorkerRelayDown(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newWkEnv(t, driver)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().(*net.TCPAddr)
		l.Close() // nothing listens there now
		tr := env.newRelay(t, RelayConfig{Host: "127.0.0.1", Port: addr.Port, TLS: TLSNone})
		emails := env.queue(t, 0, env.f.Ann, env.f.Bob)
		w := env.worker(t, WorkerConfig{Transport: tr, RetryBase: time.Minute})
		now := env.clock.Now()
		flush(t, w)
		for _, e := range emails {
			r := env.row(t, e.ID)
			if r.State != storage.QueueQueued || r.Attempts != 1 || !strings.Contains(r.LastError, "refused") {
				t.Fatalf("after relay down: %+v, want queued, 1 attempt, connection refused", r)
			}
			if d := r.NextAttemptAt.Sub(now); d < 45*time.Second || d > 75*time.Second {
				t.Errorf("next attempt in %v, want 1 minute ±25%%", d)
			}
		}
		// The relay comes back on the same port; nothing is due before the
		// retry time, everything after it.
		l, err = net.Listen("tcp", addr.String())
		if err != nil {
			t.Skipf("port %d taken meanwhile: %v", addr.Port, err)
		}
		relay := startFakeRelay(t, l, TLSNone, nil)
		flush(t, w)
		if n := len(relay.emails()); n != 0 {
			t.Fatalf("sent %d emails before their retry time", n)
		}
		env.clock.Add(2 * time.Minute)
		flush(t, w)
		if n := len(relay.emails()); n != 2 {
			t.Fatalf("relay back: %d emails sent, want 2", n)
		}
		for _, e := range emails {
			if r := env.row(t, e.ID); r.State != storage.QueueSent || r.Attempts != 2 {
				t.Errorf("after the retry: %+v, want sent after 2 attempts", r)
			}
		}
	})
}

// TestWorkerTemporaryFailure: a 4xx is retried with growing delays.
func TestWorkerTemporaryFailure(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newWkEnv(t, driver)
		env.relay.refuse(env.f.Ann.Email, 451, smtp.EnhancedCode{4, 2, 0}, "mailbox busy")
		emails := env.queue(t, 0, env.f.Ann, env.f.Bob)
		w := env.worker(t, WorkerConfig{RetryBase: time.Minute, Workers: 1})
		for attempt, base := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
			now := env.clock.Now()
			flush(t, w)
			r := env.row(t, emails[0].ID)
			if r.State != storage.QueueQueued || r.Attempts != attempt+1 || !strings.Contains(r.LastError, "451") {
				t.Fatalf("attempt %d: %+v, want queued with the 451", attempt+1, r)
			}
			if d := r.NextAttemptAt.Sub(now); d < base*3/4 || d > base*5/4 {
				t.Errorf("attempt %d: next in %v, want %v ±25%%", attempt+1, d, base)
			}
			env.clock.Add(base * 5 / 4)
		}
		if r := env.row(t, emails[1].ID); r.State != storage.QueueSent || r.Attempts != 1 {
			t.Errorf("Bob's email: %+v, want sent at once", r)
		}
		env.relay.refuse(env.f.Ann.Email, 0, smtp.EnhancedCode{}, "")
		flush(t, w)
		if r := env.row(t, emails[0].ID); r.State != storage.QueueSent || r.Attempts != 4 {
			t.Errorf("Ann's email once accepted: %+v, want sent after 4 attempts", r)
		}
		if n := env.relay.connections(); n != 1 {
			t.Errorf("%d connections, want 1: a 4xx leaves the session usable", n)
		}
	})
}

// TestWorkerPermanentFailure: a 5xx fails the email, records a hard bounce
// and turns the member's notifications off; the others still go out.
func TestWorkerPermanentFailure(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newWkEnv(t, driver)
		ctx := context.Background()
		env.relay.refuse(env.f.Bob.Email, 550, smtp.EnhancedCode{5, 1, 1}, "no such user")
		emails := env.queue(t, 0, env.f.Ann, env.f.Bob, env.f.Sue)
		flush(t, env.worker(t, WorkerConfig{Workers: 1}))
		r := env.row(t, emails[1].ID)
		if r.State != storage.QueueFailed || !strings.Contains(r.LastError, "550 5.1.1") {
			t.Errorf("Bob's email: %+v, want failed with the 550", r)
		}
		for _, e := range []storage.OutboundEmail{emails[0], emails[2]} {
			if r := env.row(t, e.ID); r.State != storage.QueueSent {
				t.Errorf("email to %s: %s, want sent", e.Rcpt, r.State)
			}
		}
		bob, err := env.st.Member(ctx, env.f.Company.ID, env.f.Bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bob.EmailNotifications || bob.BounceState != storage.BounceHard {
			t.Errorf("Bob after a 550: notifications %v, bounce state %q; want off, hard", bob.EmailNotifications, bob.BounceState)
		}
		bounces, err := env.st.Bounces(ctx, env.f.Company.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(bounces) != 1 || bounces[0].MemberID != env.f.Bob.ID || !bounces[0].Hard || !strings.Contains(bounces[0].Detail, "550") {
			t.Errorf("bounces = %+v, want one hard bounce of Bob", bounces)
		}
		// Failed emails are never tried again.
		env.relay.refuse(env.f.Bob.Email, 0, smtp.EnhancedCode{}, "")
		env.clock.Add(24 * time.Hour)
		flush(t, env.worker(t, WorkerConfig{}))
		if n := len(env.relay.emails()); n != 2 {
			t.Errorf("%d emails sent in all, want 2", n)
		}
	})
}

// TestWorkerLifetime: temporary failures end in failure once the lifetime
// (or the email's own ExpiresAt) has passed.
func TestWorkerLifetime(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newWkEnv(t, driver)
		env.relay.refuse(env.f.Ann.Email, 421, smtp.EnhancedCode{4, 4, 2}, "try later")
		emails := env.queue(t, 0, env.f.Ann)
		w := env.worker(t, WorkerConfig{Lifetime: time.Hour, RetryBase: 20 * time.Minute, RetryMax: 20 * time.Minute})
		created := env.row(t, emails[0].ID).CreatedAt
		for i := 0; i < 10; i++ {
			flush(t, w)
			if r := env.row(t, emails[0].ID); r.State != storage.QueueQueued {
				break
			}
			if next := env.row(t, emails[0].ID).NextAttemptAt; next.After(created.Add(time.Hour)) {
				t.Fatalf("next attempt %v is past the lifetime end %v", next, created.Add(time.Hour))
			}
			env.clock.Add(25 * time.Minute)
		}
		r := env.row(t, emails[0].ID)
		if r.State != storage.QueueFailed || !strings.Contains(r.LastError, "lifetime") || !strings.Contains(r.LastError, "421") {
			t.Fatalf("after the lifetime: %+v, want failed, lifetime ended", r)
		}
		if r.Attempts < 3 || r.Attempts > 5 {
			t.Errorf("%d attempts in a 1 h lifetime with 20 min retries, want 3 to 5", r.Attempts)
		}
		if m, _ := env.st.Member(context.Background(), env.f.Company.ID, env.f.Ann.ID); !m.EmailNotifications {
			t.Error("an expired email turned the member's notifications off")
		}
	})
}

// TestWorkerRateLimit: 11 emails at 20 per second take at least half a
// second (a lower bound: a slow machine cannot make it fail).
func TestWorkerRateLimit(t *testing.T) {
	env := newWkEnv(t, sqlstore.SQLite)
	env.queue(t, 11)
	w := env.worker(t, WorkerConfig{Rate: 20, Workers: 4})
	start := time.Now()
	flush(t, w)
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("11 emails at 20/s took %v, want at least 500ms", took)
	}
	if n := len(env.relay.emails()); n != 11 {
		t.Errorf("%d emails sent, want 11", n)
	}
	if n := env.relay.connections(); n > 4 {
		t.Errorf("%d connections for 4 workers", n)
	}
}

// TestWorkerCrashAfterClaim: a worker that claimed emails and died before
// recording anything (SIGKILL) leaves them to be sent once its lease ends.
func TestWorkerCrashAfterClaim(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newWkEnv(t, driver)
		emails := env.queue(t, 5)
		lease := 10 * time.Minute
		claimed, err := env.st.ClaimDue(context.Background(), env.clock.Now(), env.clock.Now().Add(lease), 3)
		if err != nil || len(claimed) != 3 {
			t.Fatalf("ClaimDue = %d, %v", len(claimed), err)
		}
		// ... and the claimer is gone. Another worker sends the rest now.
		w := env.worker(t, WorkerConfig{Lease: lease})
		flush(t, w)
		if n := len(env.relay.emails()); n != 2 {
			t.Fatalf("%d emails sent while 3 are leased, want 2", n)
		}
		env.clock.Add(lease)
		flush(t, w)
		sent := map[string]int{}
		for _, r := range env.relay.emails() {
			sent[r.To[0]]++
		}
		for _, e := range emails {
			if sent[e.Rcpt] != 1 {
				t.Errorf("%s got %d emails, want 1", e.Rcpt, sent[e.Rcpt])
			}
			if r := env.row(t, e.ID); r.State != storage.QueueSent {
				t.Errorf("email %d: %s, want sent", e.ID, r.State)
			}
		}
		if r := env.row(t, claimed[0].ID); r.Attempts != 2 {
			t.Errorf("the crashed attempt is not counted: attempts %d, want 2", r.Attempts)
		}
	})
}

// TestWorkerGracefulStop: when Run's context ends during a send, the send
// finishes, its outcome is recorded, and Run returns.
func TestWorkerGracefulStop(t *testing.T) {
	env := newWkEnv(t, sqlstore.SQLite)
	hold := make(chan struct{})
	env.relay.mu.Lock()
	env.relay.hold = hold
	env.relay.mu.Unlock()
	emails := env.queue(t, 0, env.f.Ann)
	w := env.worker(t, WorkerConfig{Workers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-env.relay.inData // the email is being sent
	cancel()
	close(hold)
	if err := <-done; err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if r := env.row(t, emails[0].ID); r.State != storage.QueueSent {
		t.Errorf("email in flight at shutdown: %s, want sent", r.State)
	}
}
