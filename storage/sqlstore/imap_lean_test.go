package sqlstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestEnvelopesKnown: IMAPEnvelopes of a shared folder whose message ids
// are sparse (another company's mail between them), read in IN lists of
// four on SQLite: every message in UID order with its thread; the cached
// envelope of those the caller does not hold, the blob key of those with
// none; nothing read for those it holds.
func TestEnvelopesKnown(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		s := OpenTest(t, driver)
		s.idList = 4
		a := storagetest.NewFixture(t, s, "a")
		b := storagetest.NewFixture(t, s, "b")
		deliver := func(f *storagetest.Fixture, i int) storage.Message {
			m, _, err := s.Deliver(ctx, storage.Delivery{NewThread: storage.Thread{TeamID: f.Acme.ID},
				Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID,
					MessageID: fmt.Sprintf("%s-%d@x", f.Company.Slug, i), RawKey: fmt.Sprintf("raw-%s-%d", f.Company.Slug, i)}})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		var mine []storage.Message
		for i := 0; i < 15; i++ {
			mine = append(mine, deliver(a, i))
			for j := 0; j < 4; j++ {
				deliver(b, 4*i+j)
			}
		}
		for _, m := range mine[:10] {
			if err := s.IMAPSetCache(ctx, a.Company.ID, m.ID, storage.IMAPCached{Envelope: fmt.Sprint("env-", m.ID)}); err != nil {
				t.Fatal(err)
			}
		}
		inbox, err := s.IMAPEnsureMailbox(ctx, a.Company.ID, storage.IMAPMailbox{Name: "INBOX", Filter: storage.FilterAll})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.IMAPSync(ctx, a.Company.ID, inbox.ID); err != nil {
			t.Fatal(err)
		}
		var uids []uint32
		for uid := uint32(1); uid <= 20; uid++ { // 16 to 20 match nothing
			uids = append(uids, uid)
		}
		known := func(id int64) bool { return id%3 == 0 }
		got, err := s.IMAPEnvelopes(ctx, a.Company.ID, inbox.ID, uids, known)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(mine) {
			t.Fatalf("%d messages, want %d", len(got), len(mine))
		}
		for i, g := range got {
			m := mine[i] // UIDs follow the order of arrival
			var env, raw string
			switch {
			case known(m.ID):
			case i < 10:
				env = fmt.Sprint("env-", m.ID)
			default:
				raw = m.RawKey
			}
			if g.UID != uint32(i+1) || g.MessageID != m.ID || g.ThreadID != m.ThreadID || g.Cached.Envelope != env || g.RawKey != raw && raw != "" {
				t.Errorf("message %d: UID %d, id %d, thread %d, envelope %q, raw key %q; want %d, %d, %d, %q, %q",
					i, g.UID, g.MessageID, g.ThreadID, g.Cached.Envelope, g.RawKey, i+1, m.ID, m.ThreadID, env, raw)
			}
		}
	})
}
