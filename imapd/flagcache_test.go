package imapd

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestFlagCacheEvicts: an entry nobody used for flagIdle is dropped at the
// next sweep (its mailbox starts over from the database), one in use is
// kept.
func TestFlagCacheEvicts(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c := &flagCache{now: func() time.Time { return now }}
	idle := c.entry(1)
	idle.codes = []byte{0, codeKnown | codeSeen}
	now = now.Add(flagIdle / 2)
	busy := c.entry(2)
	now = now.Add(flagIdle/2 - time.Second) // 1 last used flagIdle-1s ago
	if c.entry(2) != busy || c.m[1] != idle {
		t.Fatalf("entries dropped early: %d left", len(c.m))
	}
	now = now.Add(flagIdle / 10) // sweeps are flagIdle/10 apart
	c.entry(2)
	if len(c.m) != 1 || c.m[2] != busy {
		t.Fatalf("after flagIdle unused, entries %v, want only mailbox 2", c.m)
	}
	if e := c.entry(1); e == idle || e.codes != nil {
		t.Fatal("entry 1 came back with its old codes")
	}
}

// TestFetchFlagsBeyondCache: FETCH (FLAGS) of a shared folder answers
// from the flag cache, and from the database for a listing where some
// message has flags the cache cannot hold (codeOther).
func TestFetchFlagsBeyondCache(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		for i := 0; i < 3; i++ {
			e.deliver(f, f.Acme, f.Ann, fmt.Sprintf("Subject %d", i), "body")
		}
		c := e.login(f.Admin.Email, nil)
		d := selectBox(t, c, "INBOX")
		err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close()
		if err != nil {
			t.Fatal(err)
		}
		flagsOf := func() map[imap.UID][]imap.Flag {
			t.Helper()
			msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			out := map[imap.UID][]imap.Flag{}
			for _, m := range msgs {
				out[m.UID] = m.Flags
			}
			return out
		}
		want := flagsOf()
		if len(want) != 3 || !slices.Contains(want[2], imap.FlagFlagged) {
			t.Fatalf("flags = %v, want 3 messages, UID 2 flagged", want)
		}
		// Make the cache claim that UID 1 has flags it does not hold,
		// and drop \Flagged from UID 2's code: the answer must come from
		// the database.
		mbs, err := e.st.IMAPMailboxes(context.Background(), f.Company.ID, f.Admin.ID)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(mbs, func(m storage.IMAPMailbox) bool { return m.Name == "INBOX" })
		err = e.srv.flags.with(context.Background(), e.st, f.Company.ID, mbs[i].ID, uint32(d.UIDNext), func(codes []byte) {
			codes[1] |= codeOther
			codes[2] &^= codeFlagged
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := flagsOf(); !reflect.DeepEqual(got, want) {
			t.Errorf("flags with a code beyond the cache = %v, want %v", got, want)
		}
	})
}
