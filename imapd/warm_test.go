package imapd

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage/sqlstore"
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
