package imapd

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestCacheWarmer: messages stored before the IMAP server started, and
// mail delivered while it runs, get without any FETCH the same cached
// ENVELOPE that a first FETCH parses and stores.
func TestCacheWarmer(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		cold := newTestServer(t, driver, noWarmer) // FETCH parses
		warm := newTestServer(t, driver, noWarmer) // the warmer parses, below
		var coldIDs, warmIDs []int64
		deliver := func(msgs []string, from int) {
			for i, raw := range msgs {
				id := "warm" + strconv.Itoa(from+i) + "@x"
				coldIDs = append(coldIDs, cold.deliverRaw(cold.f, cold.f.Acme, cold.f.Ann, id, raw, "in").ID)
				warmIDs = append(warmIDs, warm.deliverRaw(warm.f, warm.f.Acme, warm.f.Ann, id, raw, "in").ID)
			}
		}
		half := len(envelopeMessages) / 2
		deliver(envelopeMessages[:half], 0)
		w := warm.another() // starts with half the messages stored
		deliver(envelopeMessages[half:], half)
		if err := w.srv.cfg.Hub.Publish(ctx, notify.Mail, warm.f.Company.ID); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			left, err := warm.st.IMAPUncached(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 10 s, %d messages still have no cached ENVELOPE", len(left))
			}
			time.Sleep(20 * time.Millisecond)
		}

		c := cold.login(cold.f.Admin.Email, nil)
		selectBox(t, c, "INBOX")
		if envs := envelopes(t, c, &imap.FetchOptions{Envelope: true}); len(envs) != len(envelopeMessages) {
			t.Fatalf("FETCH gave %d envelopes, want %d", len(envs), len(envelopeMessages))
		}
		cold.srv.closeCaches(ctx)
		want, err := cold.st.IMAPCache(ctx, cold.f.Company.ID, coldIDs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := warm.st.IMAPCache(ctx, warm.f.Company.ID, warmIDs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range envelopeMessages {
			g, wnt := got[warmIDs[i]].Envelope, want[coldIDs[i]].Envelope
			if g == "" || g != wnt {
				t.Errorf("message %d: warmer cached %q, FETCH cached %q", i, g, wnt)
			}
		}
	})
}

// uncachedCalls records where each of the warmer's lists starts.
type uncachedCalls struct {
	Store
	mu     sync.Mutex
	starts []int64
}

func (u *uncachedCalls) IMAPUncached(ctx context.Context, afterID int64, limit int) ([]storage.IMAPUncachedMessage, error) {
	u.mu.Lock()
	u.starts = append(u.starts, afterID)
	u.mu.Unlock()
	return u.Store.IMAPUncached(ctx, afterID, limit)
}

func (u *uncachedCalls) seen() []int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.starts)
}

// TestWarmerWakeupsStayBounded: wake-ups that find nothing new (flag
// changes publish the same notification as new mail) start the warmer's
// list the same short distance below the newest message each time, also
// when its first pass found every message cached. They used to start one
// lookback further down each time, or from 0, until every flag change
// made it walk the whole message table.
func TestWarmerWakeupsStayBounded(t *testing.T) {
	ctx := context.Background()
	st := sqlstore.OpenTest(t, sqlstore.SQLite)
	f := storagetest.NewFixture(t, st, "acme")
	e := &testEnv{t: t, st: st, f: f}
	var last int64
	for i := range 4 {
		last = e.deliverRaw(f, f.Acme, f.Ann, "wake"+strconv.Itoa(i)+"@x", envelopeMessages[0], "in").ID
	}
	for _, cached := range []bool{false, true} { // the second server finds all cached
		rec := &uncachedCalls{}
		warmed := make(chan struct{})
		srv, _ := startServer(t, st, func(c *Config) {
			rec.Store = c.Store
			c.Store = rec
			c.warmLookback = 1
			c.Observe.WarmedUp = func() { close(warmed) }
		})
		<-warmed
		for range 4 {
			n := len(rec.seen())
			if err := srv.cfg.Hub.Publish(ctx, notify.Mail, f.Company.ID); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(5 * time.Second); len(rec.seen()) == n; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the warmer did not list after a wake-up")
				}
			}
		}
		starts := rec.seen()
		first := 2 // the first pass lists from 0, then after the last message
		if cached {
			first = 1 // from 0, finding nothing
		}
		for i, a := range starts[first:] {
			if a != last-1 {
				t.Fatalf("all cached %v: list %d after a wake-up started at id %d, want %d (all: %v)", cached, i+1, a, last-1, starts)
			}
		}
	}
}
