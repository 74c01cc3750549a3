package outbound_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// recorder is the real store, remembering the deliveries the Poster makes
// (their Outbound rows carry the ids the store gave them).
type recorder struct {
	*sqlstore.Store
	mu sync.Mutex
	ds []storage.Delivery
}

func (r *recorder) Deliver(ctx context.Context, d storage.Delivery) (storage.Message, bool, error) {
	m, created, err := r.Store.Deliver(ctx, d)
	if err == nil {
		r.mu.Lock()
		r.ds = append(r.ds, d)
		r.mu.Unlock()
	}
	return m, created, err
}

func (r *recorder) last(t *testing.T) storage.Delivery {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ds) == 0 {
		t.Fatal("no delivery recorded")
	}
	return r.ds[len(r.ds)-1]
}

type posterEnv struct {
	st  *recorder
	p   *outbound.Poster
	hub *notify.Local
	f   *storagetest.Fixture
	now time.Time
}

func newPosterEnv(t *testing.T, driver string) *posterEnv {
	t.Helper()
	st := &recorder{Store: sqlstore.OpenTest(t, driver)}
	e := &posterEnv{st: st, hub: notify.NewLocal(), now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	e.f = storagetest.NewFixture(t, st, "acme")
	p, err := outbound.NewPoster(outbound.PosterConfig{Store: st, Hub: e.hub, Clock: func() time.Time { return e.now }, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

func (e *posterEnv) post(t *testing.T, p outbound.Post) (storage.Message, storage.Delivery) {
	t.Helper()
	p.CompanyID, p.StaffID = e.f.Company.ID, e.f.Manager.ID
	if p.Message.Subject == "" {
		p.Message.Subject = "Hello"
	}
	if p.Message.RawKey == "" {
		p.Message.RawKey, p.Message.Size, p.Message.Text = "raw-key", 10, "Hi there"
	}
	m, created, err := e.p.Post(context.Background(), p)
	if err != nil {
		t.Fatalf("Post(%+v): %v", p, err)
	}
	if !created {
		t.Fatalf("Post(%+v): created = false, want true", p)
	}
	return m, e.st.last(t)
}

func rcpts(d storage.Delivery) []string {
	var out []string
	for _, o := range d.Outbound {
		out = append(out, o.Rcpt)
	}
	slices.Sort(out)
	return out
}

func TestPostRecipients(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newPosterEnv(t, driver)
		f, ctx := e.f, context.Background()
		queue, stop := e.hub.Subscribe(notify.Queue, f.Company.ID)
		defer stop()

		// A team conversation goes to every member with notifications on.
		m, d := e.post(t, outbound.Post{TeamID: f.Acme.ID})
		if got, want := rcpts(d), []string{f.Ann.Email, f.Bob.Email}; !slices.Equal(got, want) {
			t.Errorf("team post recipients = %v, want %v", got, want)
		}
		th, err := e.st.Thread(ctx, f.Company.ID, m.ThreadID)
		if err != nil || th.TeamID != f.Acme.ID || th.MemberID != 0 || th.Subject != "Hello" {
			t.Errorf("thread = %+v, %v; want a team thread of Acme titled Hello", th, err)
		}
		if m.Direction != storage.DirectionOut || m.AuthorStaffID != f.Manager.ID || !m.Seen || m.FromAddr != f.Manager.Email {
			t.Errorf("message = %+v, want outgoing, by the manager, seen", m)
		}
		seen := map[string]bool{m.MessageID: true}
		for _, o := range d.Outbound {
			if o.ID == 0 || o.MessageRowID != m.ID || o.CompanyID != f.Company.ID || !o.ExpiresAt.Equal(e.now.Add(time.Hour)) {
				t.Errorf("queued email %+v: want an id, message row %d, expiry in an hour", o, m.ID)
			}
			if seen[o.MessageID] {
				t.Errorf("Message-ID %s used twice", o.MessageID)
			}
			seen[o.MessageID] = true
			// A partner reply quoting this email threads by In-Reply-To.
			got, err := e.st.ThreadByMessageID(ctx, f.Company.ID, []string{o.MessageID})
			if err != nil || got.ID != m.ThreadID {
				t.Errorf("ThreadByMessageID(%s) = %d, %v; want thread %d", o.MessageID, got.ID, err, m.ThreadID)
			}
		}
		select {
		case <-queue:
		default:
			t.Error("no notify.Queue event after a post with emails")
		}

		// A reply in the thread after Bob turned notifications off.
		if err := e.st.SetMemberNotifications(ctx, f.Company.ID, f.Bob.ID, false); err != nil {
			t.Fatal(err)
		}
		m2, d := e.post(t, outbound.Post{ThreadID: m.ThreadID, Message: storage.Message{Subject: "Re: Hello"}})
		if m2.ThreadID != m.ThreadID {
			t.Errorf("reply went to thread %d, want %d", m2.ThreadID, m.ThreadID)
		}
		if got, want := rcpts(d), []string{f.Ann.Email}; !slices.Equal(got, want) {
			t.Errorf("reply recipients = %v, want %v", got, want)
		}

		// A conversation with one member goes to that member only.
		m3, d := e.post(t, outbound.Post{TeamID: f.Acme.ID, MemberID: f.Ann.ID})
		if got, want := rcpts(d), []string{f.Ann.Email}; !slices.Equal(got, want) {
			t.Errorf("member post recipients = %v, want %v", got, want)
		}
		if th, _ := e.st.Thread(ctx, f.Company.ID, m3.ThreadID); th.MemberID != f.Ann.ID {
			t.Errorf("member thread = %+v, want member %d", th, f.Ann.ID)
		}
		_, d = e.post(t, outbound.Post{ThreadID: m3.ThreadID})
		if got, want := rcpts(d), []string{f.Ann.Email}; !slices.Equal(got, want) {
			t.Errorf("reply in member thread recipients = %v, want %v (not Bob)", got, want)
		}

		// Nobody gets an email: the message is recorded all the same.
		for _, p := range []outbound.Post{{TeamID: f.Acme.ID, MemberID: f.Bob.ID}, {TeamID: f.Beta.ID}} {
			m, d := e.post(t, p)
			if len(d.Outbound) != 0 {
				t.Errorf("post %+v queued %v, want nothing (notifications off)", p, rcpts(d))
			}
			msgs, err := e.st.ThreadMessages(ctx, f.Company.ID, m.ThreadID)
			if err != nil || len(msgs) != 1 || msgs[0].ID != m.ID {
				t.Errorf("post %+v: thread messages %v, %v; want the message recorded", p, msgs, err)
			}
		}

		// A hard-bounced member gets nothing even with notifications on.
		if _, err := e.st.RecordBounce(ctx, f.Company.ID, storage.Bounce{MemberID: f.Sue.ID, Hard: true}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.SetMemberNotifications(ctx, f.Company.ID, f.Sue.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, d := e.post(t, outbound.Post{TeamID: f.Solo.ID}); len(d.Outbound) != 0 {
			t.Errorf("post to a hard-bounced member queued %v", rcpts(d))
		}
	})
}

func TestPostRetransmission(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newPosterEnv(t, driver)
		f := e.f
		p := outbound.Post{TeamID: f.Acme.ID, Message: storage.Message{MessageID: "staff-1@acme.example"}}
		m, _ := e.post(t, p)
		p.CompanyID, p.StaffID, p.ThreadID = f.Company.ID, f.Manager.ID, m.ThreadID
		p.Message.RawKey, p.Message.Subject = "raw-key", "Hello"
		again, created, err := e.p.Post(context.Background(), p)
		if err != nil || created || again.ID != m.ID {
			t.Errorf("second Post of the same Message-ID = %d, %v, %v; want message %d, created false", again.ID, created, err, m.ID)
		}
		if n := len(e.st.ds); n != 2 {
			t.Fatalf("%d deliveries, want 2", n)
		}
		for _, o := range e.st.ds[1].Outbound {
			if o.ID != 0 {
				t.Errorf("retransmission queued email %d to %s", o.ID, o.Rcpt)
			}
		}
	})
}

func TestPostRefused(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newPosterEnv(t, driver)
		f, ctx := e.f, context.Background()
		other := storagetest.NewFixture(t, e.st, "globex")
		theirs, _, err := e.st.Store.Deliver(ctx, storage.Delivery{
			NewThread: storage.Thread{CompanyID: other.Company.ID, TeamID: other.Acme.ID, Subject: "x"},
			Message:   storage.Message{CompanyID: other.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: other.Ann.ID, MessageID: "g1@globex.example", RawKey: "k"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.st.SetGroupMessaging(ctx, f.Company.ID, f.Silver.ID, false, "Please write to support@acme.example"); err != nil {
			t.Fatal(err)
		}
		before, _ := e.st.Threads(ctx, f.Company.ID)
		base := outbound.Post{CompanyID: f.Company.ID, StaffID: f.Manager.ID, Message: storage.Message{Subject: "s", RawKey: "k"}}
		with := func(fn func(p *outbound.Post)) outbound.Post { p := base; fn(&p); return p }
		for name, tc := range map[string]struct {
			p    outbound.Post
			want error
		}{
			"no such team":           {with(func(p *outbound.Post) { p.TeamID = 999999 }), outbound.ErrNoAudience},
			"other company's team":   {with(func(p *outbound.Post) { p.TeamID = other.Acme.ID }), outbound.ErrNoAudience},
			"other company's thread": {with(func(p *outbound.Post) { p.ThreadID = theirs.ThreadID }), outbound.ErrNoAudience},
			"other company's member": {with(func(p *outbound.Post) { p.TeamID, p.MemberID = f.Acme.ID, other.Ann.ID }), outbound.ErrNoAudience},
			"member of another team": {with(func(p *outbound.Post) { p.TeamID, p.MemberID = f.Acme.ID, f.Eve.ID }), outbound.ErrNoAudience},
			"other company's staff":  {with(func(p *outbound.Post) { p.TeamID, p.StaffID = f.Acme.ID, other.Manager.ID }), storage.ErrNotFound},
		} {
			if _, _, err := e.p.Post(ctx, tc.p); !errors.Is(err, tc.want) {
				t.Errorf("%s: Post = %v, want %v", name, err, tc.want)
			}
		}

		// Messaging disabled: refused with the group's text, nothing stored.
		for _, p := range []outbound.Post{
			with(func(p *outbound.Post) { p.TeamID = f.Solo.ID }),
			with(func(p *outbound.Post) { p.TeamID, p.MemberID = f.Solo.ID, f.Sue.ID }),
		} {
			_, _, err := e.p.Post(ctx, p)
			var de *outbound.DisabledError
			if !errors.As(err, &de) || de.Group != "Silver" || de.Text != "Please write to support@acme.example" {
				t.Errorf("Post to a disabled group = %v, want *DisabledError for Silver with its text", err)
			}
		}
		after, _ := e.st.Threads(ctx, f.Company.ID)
		if len(after) != len(before) {
			t.Errorf("refused posts created %d threads", len(after)-len(before))
		}
		if len(e.st.ds) != 0 {
			t.Errorf("refused posts delivered %d messages", len(e.st.ds))
		}
		// The other company saw nothing.
		if ts, _ := e.st.Threads(ctx, other.Company.ID); len(ts) != 1 {
			t.Errorf("other company has %d threads, want 1", len(ts))
		}
	})
}
