package outbound

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// stubComposer makes a small text email of a queued row, standing in for
// the template composer.
type stubComposer struct{ domain string }

func (c stubComposer) Compose(_ context.Context, e storage.OutboundEmail) (*Email, error) {
	m := mail.NewMsg()
	if err := m.FromFormat("Ada Admin", "partners@"+c.domain); err != nil {
		return nil, err
	}
	if err := m.To(e.Rcpt); err != nil {
		return nil, &PermanentError{err}
	}
	m.Subject(fmt.Sprintf("Email %d", e.ID))
	m.SetMessageIDWithValue(fmt.Sprintf("email-%d@%s", e.ID, c.domain))
	m.SetDate()
	m.SetBodyString(mail.TypeTextPlain, fmt.Sprintf("Hello %s, this is email %d.\n", e.Rcpt, e.ID))
	return &Email{From: fmt.Sprintf("bounce+%d@%s", e.ID, c.domain), To: e.Rcpt, Msg: m}, nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// wkEnv is a store with the fixture company, a fake relay and a relay
// transport pointing at it, and a clock that only moves when told.
type wkEnv struct {
	st    *sqlstore.Store
	f     *storagetest.Fixture
	relay *fakeRelay
	tr    *Relay
	clock *fakeClock
}

func newWkEnv(t *testing.T, driver string) *wkEnv {
	t.Helper()
	st := sqlstore.OpenTest(t, driver)
	return newWkEnvStore(t, st, storagetest.NewFixture(t, st, "a"))
}

func newWkEnvStore(t *testing.T, st *sqlstore.Store, f *storagetest.Fixture) *wkEnv {
	t.Helper()
	e := &wkEnv{st: st, f: f, relay: newFakeRelay(t, TLSNone, nil),
		clock: &fakeClock{now: time.UnixMilli(time.Now().Add(time.Second).UnixMilli())}}
	e.tr = e.newRelay(t, RelayConfig{})
	return e
}

// newRelay makes a relay transport to the fake relay (cfg's zero fields
// filled in), closed when the test ends.
func (e *wkEnv) newRelay(t *testing.T, cfg RelayConfig) *Relay {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host, cfg.Port, cfg.TLS = e.relay.host, e.relay.port, TLSNone
	}
	cfg.Log = slog.New(slog.DiscardHandler)
	tr, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// worker makes a worker of the environment; cfg's zero fields are filled.
func (e *wkEnv) worker(t *testing.T, cfg WorkerConfig) *Worker {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = e.st
	}
	if cfg.Composer == nil {
		cfg.Composer = stubComposer{domain: e.f.Company.Domains[0]}
	}
	if cfg.Transport == nil {
		cfg.Transport = e.tr
	}
	if cfg.Clock == nil {
		cfg.Clock = e.clock.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w, err := NewWorker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// queue queues one campaign email per member, plus n extra emails to
// p<i>@x.example in Ann's name.
func (e *wkEnv) queue(t *testing.T, n int, members ...storage.Member) []storage.OutboundEmail {
	t.Helper()
	var emails []storage.OutboundEmail
	for _, m := range members {
		emails = append(emails, storage.OutboundEmail{MemberID: m.ID, Rcpt: m.Email})
	}
	for i := range n {
		emails = append(emails, storage.OutboundEmail{MemberID: e.f.Ann.ID, Rcpt: fmt.Sprintf("p%d@x.example", i)})
	}
	_, err := e.st.CreateCampaign(context.Background(), storage.Campaign{CompanyID: e.f.Company.ID, Subject: "News"}, emails)
	if err != nil {
		t.Fatal(err)
	}
	return emails
}

func (e *wkEnv) row(t *testing.T, id int64) storage.OutboundEmail {
	t.Helper()
	r, err := e.st.OutboundEmail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func flush(t *testing.T, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}
