package imapd

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

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
