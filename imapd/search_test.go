package imapd

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestSearchFlagsBitsets: criteria that read no message (flags, sets,
// NOT, OR) are answered from bitsets over the view; each must find what
// the per-message evaluation finds (the same criteria with an always-true
// SINCE, which makes the search read every message).
func TestSearchFlagsBitsets(t *testing.T) {
	e := newTestServer(t, sqlstore.SQLite)
	f := e.f
	for i := 0; i < 150; i++ {
		e.deliver(f, f.Acme, f.Ann, fmt.Sprintf("Subject %d", i), "body")
	}
	c := e.login(f.Admin.Email, nil)
	selectBox(t, c, "INBOX")
	store := func(set imap.SeqSet, flag imap.Flag) {
		t.Helper()
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{flag}, Silent: true}, nil).Close(); err != nil {
			t.Fatal(err)
		}
	}
	store(imap.SeqSet{{Start: 1, Stop: 70}}, imap.FlagSeen)
	store(imap.SeqSet{{Start: 3, Stop: 3}, {Start: 64, Stop: 66}, {Start: 128, Stop: 140}}, imap.FlagFlagged)
	store(imap.SeqSet{{Start: 60, Stop: 100}}, imap.FlagAnswered)

	flag := func(f ...imap.Flag) imap.SearchCriteria { return imap.SearchCriteria{Flag: f} }
	notFlag := func(f ...imap.Flag) imap.SearchCriteria { return imap.SearchCriteria{NotFlag: f} }
	tests := []imap.SearchCriteria{
		{},
		notFlag(imap.FlagSeen),
		flag(imap.FlagSeen),
		flag(imap.FlagFlagged, imap.FlagSeen),
		notFlag(imap.FlagDeleted),
		flag(imap.FlagDeleted),
		flag("$Junk"),
		notFlag("$junk"),
		{SeqNum: []imap.SeqSet{{{Start: 10, Stop: 0}}}, NotFlag: []imap.Flag{imap.FlagSeen}},
		{SeqNum: []imap.SeqSet{{{Start: 0, Stop: 0}}}},
		{UID: []imap.UIDSet{{{Start: 5, Stop: 90}}}, Flag: []imap.Flag{imap.FlagAnswered}},
		{UID: []imap.UIDSet{{{Start: 1000, Stop: 2000}}}},
		{Not: []imap.SearchCriteria{flag(imap.FlagSeen)}},
		{Or: [][2]imap.SearchCriteria{{flag(imap.FlagFlagged), notFlag(imap.FlagSeen)}}},
		{Or: [][2]imap.SearchCriteria{{flag(imap.FlagFlagged), flag(imap.FlagAnswered)}},
			Not: []imap.SearchCriteria{{SeqNum: []imap.SeqSet{{{Start: 1, Stop: 64}}}}}},
	}
	since := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, crit := range tests {
		fast, err := c.UIDSearch(&crit, nil).Wait()
		if err != nil {
			t.Fatalf("%d: UID SEARCH %+v: %v", i, crit, err)
		}
		slow := crit
		slow.Since = since
		want, err := c.UIDSearch(&slow, nil).Wait()
		if err != nil {
			t.Fatalf("%d: UID SEARCH %+v: %v", i, slow, err)
		}
		if i == 1 && len(want.AllUIDs()) != 80 {
			t.Fatalf("UNSEEN found %d messages, want 80", len(want.AllUIDs()))
		}
		if got, w := fast.AllUIDs(), want.AllUIDs(); !slices.Equal(got, w) {
			t.Errorf("%d: UID SEARCH %+v = %v, want %v", i, crit, got, w)
		}
		seqs, err := c.Search(&crit, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		seqWant, err := c.Search(&slow, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if got, w := seqs.AllSeqNums(), seqWant.AllSeqNums(); !slices.Equal(got, w) {
			t.Errorf("%d: SEARCH %+v = %v, want %v", i, crit, got, w)
		}
	}
}

// unseenOf returns UID SEARCH UNSEEN of c, after checking it, SEARCH of
// each shared flag and the flags FETCH (UID FLAGS) gives (all from the
// flag cache), against the flags FETCH (UID FLAGS INTERNALDATE) reads
// from the database.
func unseenOf(t *testing.T, c *imapclient.Client) []imap.UID {
	t.Helper()
	all := imap.SeqSet{{Start: 1, Stop: 0}}
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:* (UID FLAGS INTERNALDATE): %v", err)
	}
	var want []imap.UID
	flags := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		flags[m.UID] = m.Flags
		if !slices.Contains(m.Flags, imap.FlagSeen) {
			want = append(want, m.UID)
		}
	}
	got, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatalf("UID SEARCH UNSEEN: %v", err)
	}
	if !slices.Equal(got.AllUIDs(), want) {
		t.Fatalf("UID SEARCH UNSEEN = %v, want %v", got.AllUIDs(), want)
	}
	for _, flag := range []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged} {
		var with []imap.UID
		for _, m := range msgs {
			if slices.Contains(m.Flags, flag) {
				with = append(with, m.UID)
			}
		}
		got, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{flag}}, nil).Wait()
		if err != nil {
			t.Fatalf("UID SEARCH %s: %v", flag, err)
		}
		if !slices.Equal(got.AllUIDs(), with) {
			t.Fatalf("UID SEARCH %s = %v, want %v", flag, got.AllUIDs(), with)
		}
	}
	lean, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:* (UID FLAGS): %v", err)
	}
	if len(lean) != len(msgs) {
		t.Fatalf("FETCH 1:* (UID FLAGS) gave %d messages, want %d", len(lean), len(msgs))
	}
	for _, m := range lean {
		if w, ok := flags[m.UID]; !ok || !slices.Equal(m.Flags, w) {
			t.Fatalf("FETCH (UID FLAGS) of UID %d = %v, want %v", m.UID, m.Flags, w)
		}
	}
	return want
}

// TestUnseenCache: the flags kept per mailbox follow STORE from
// another session and from another process sharing the database, new
// deliveries, and messages leaving a shared folder.
func TestUnseenCache(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		for i := 0; i < 5; i++ {
			e.deliver(f, f.Acme, f.Ann, fmt.Sprintf("Subject %d", i), "body")
		}
		a := e.login(f.Admin.Email, nil)
		selectBox(t, a, "INBOX")
		if got := unseenOf(t, a); len(got) != 5 {
			t.Fatalf("UNSEEN = %v, want 5 messages", got)
		}
		store := func(c *imapclient.Client, seq uint32, op imap.StoreFlagsOp) {
			t.Helper()
			err := c.Store(imap.SeqSetNum(seq), &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		// Another session of this server.
		b := e.login(f.Manager.Email, nil)
		selectBox(t, b, "INBOX")
		store(b, 1, imap.StoreFlagsAdd)
		if got := unseenOf(t, a); len(got) != 4 {
			t.Fatalf("UNSEEN after another session's STORE = %v, want 4 messages", got)
		}
		// Another process: its own server (and caches) on the database.
		o := e.another()
		c := o.login(f.Admin.Email, nil)
		selectBox(t, c, "INBOX")
		unseenOf(t, c)
		store(c, 1, imap.StoreFlagsDel)
		store(c, 2, imap.StoreFlagsAdd)
		for seq, flag := range map[uint32]imap.Flag{2: imap.FlagFlagged, 4: imap.FlagAnswered} {
			err := c.Store(imap.SeqSetNum(seq), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{flag}, Silent: true}, nil).Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		store(c, 3, imap.StoreFlagsAdd)
		if got := unseenOf(t, a); len(got) != 3 {
			t.Fatalf("UNSEEN after another process's STORE = %v, want 3 messages", got)
		}
		store(a, 3, imap.StoreFlagsDel)
		if got := unseenOf(t, c); len(got) != 4 {
			t.Fatalf("UNSEEN in the other process = %v, want 4 messages", got)
		}
		// New deliveries: a new session sees them at once, a after a sync.
		e.deliver(f, f.Acme, f.Ann, "New", "body")
		e.deliver(f, f.Solo, f.Sue, "New 2", "body")
		d := e.login(f.Admin.Email, nil)
		selectBox(t, d, "INBOX")
		if got := unseenOf(t, d); len(got) != 6 {
			t.Fatalf("UNSEEN with two new messages = %v, want 6", got)
		}
		time.Sleep(1100 * time.Millisecond) // a reads changes once a second without a wake-up
		if err := a.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		if got := unseenOf(t, a); len(got) != 6 {
			t.Fatalf("UNSEEN after a sync = %v, want 6", got)
		}
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		if got := unseenOf(t, c); len(got) != 6 {
			t.Fatalf("UNSEEN in the other process after a sync = %v, want 6", got)
		}
		// Messages read leave Unread; sessions there keep them until
		// EXPUNGE.
		selectBox(t, a, "Unread")
		selectBox(t, b, "Unread")
		before := unseenOf(t, a)
		store(b, 1, imap.StoreFlagsAdd)
		store(b, 2, imap.StoreFlagsAdd)
		if got := unseenOf(t, a); len(got) != len(before)-2 {
			t.Fatalf("UNSEEN in Unread after reading two = %v, want %d messages", got, len(before)-2)
		}
		if err := a.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
		unseenOf(t, a)
		store(b, 1, imap.StoreFlagsDel)
		if err := a.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		unseenOf(t, a)
		selectBox(t, a, "Unread")
		unseenOf(t, a)
	})
}

func TestFlagCodes(t *testing.T) {
	tests := [][]string{
		{},
		{`\Seen`},
		{`\Seen`, `\Answered`, `\Flagged`},
		{`\Answered`, storage.KeywordQueued},
		{`\Seen`, `\Flagged`, storage.KeywordBounced},
	}
	for _, f := range tests {
		c := encodeFlags(f)
		if c&codeOther != 0 || !slices.Equal(appendFlags(nil, c), f) {
			t.Errorf("appendFlags(nil, encodeFlags(%q)) = %q (code %#x)", f, appendFlags(nil, c), c)
		}
	}
	for _, f := range [][]string{{`\Deleted`}, {"$Junk"}, {storage.KeywordQueued, storage.KeywordDelivered}} {
		if c := encodeFlags(f); c&codeOther == 0 {
			t.Errorf("encodeFlags(%q) = %#x, want codeOther set", f, c)
		}
	}
}
