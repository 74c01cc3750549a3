package imapd

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestFetchOneByOne fetches every message with its own UID FETCH
// (BODY.PEEK[] RFC822.SIZE), as mbsync does, in order and out of it:
// bytes and sizes are those of one FETCH of them all, in a shared folder
// and a private one, and nothing gets marked read.
func TestFetchOneByOne(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		for i := 0; i < 300; i++ {
			body := fmt.Sprintf("body %d", i)
			if i == 70 {
				body = strings.Repeat("a long line of a big message\r\n", 4000) // past the inline blob size
			}
			e.deliver(f, f.Acme, f.Ann, fmt.Sprintf("Message %d", i), body)
		}
		c := e.login(f.Admin.Email, nil)
		if err := c.Create("Mine", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		selectBox(t, c, "INBOX")
		if _, err := c.Copy(imap.SeqSet{{Start: 1, Stop: 0}}, "Mine").Wait(); err != nil {
			t.Fatal(err)
		}
		opts := &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{{Peek: true},
			{Peek: true, Specifier: imap.PartSpecifierHeader}, {Peek: true, Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 3, Size: 100}}}}
		var inbox map[imap.UID]*fetched
		for _, box := range []string{"INBOX", "Mine"} {
			selectBox(t, c, box)
			all := fetchBodies(t, c, imap.UIDSet{{Start: 1, Stop: 0}}, opts)
			if box == "INBOX" {
				inbox = all
			}
			if len(all) != 300 {
				t.Fatalf("%s: FETCH 1:* returned %d messages, want 300 (two read-ahead windows and more)", box, len(all))
			}
			uids := make([]imap.UID, 0, len(all))
			for u := range all {
				uids = append(uids, u)
			}
			slices.Sort(uids)
			order := slices.Clone(uids)
			order = append(order, uids[100], uids[3], uids[149], uids[0], uids[1]) // out of order, and again
			if box == "INBOX" {
				// Another session's change in the middle: the read-ahead is dropped.
				other := e.login(f.Admin.Email, nil)
				selectBox(t, other, "INBOX")
				if err := other.Store(imap.UIDSetNum(uids[120]), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
					t.Fatal(err)
				}
			}
			for _, u := range order {
				one := fetchBodies(t, c, imap.UIDSetNum(u), opts)
				if got, want := one[u], all[u]; got == nil || !bytes.Equal(got.body, want.body) || got.size != want.size ||
					!bytes.Equal(got.header, want.header) || !bytes.Equal(got.text, want.text) || len(want.header) == 0 || len(want.text) == 0 {
					t.Fatalf("%s UID %d alone: %d bytes, size %d; want %d bytes, size %d, identical", box, u, len(got.body), got.size, len(want.body), want.size)
				}
			}
			if int64(len(all[uids[70]].body)) < 100000 {
				t.Errorf("%s: message 70 has %d bytes, want a big one", box, len(all[uids[70]].body))
			}
			res, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			if n := len(res.AllUIDs()); n != 0 {
				t.Errorf("%s: %d messages marked read by BODY.PEEK[]", box, n)
			}
		}
		// Another reader downloading INBOX one by one, as mbsync does,
		// finds the small bodies the first one read in memory; a process
		// with that memory turned off reads them all: the same bytes.
		for _, srv := range []*testEnv{e, e.another(func(c *Config) { c.BlobCache = -1 })} {
			r := srv.login(f.Admin.Email, nil)
			selectBox(t, r, "INBOX")
			for _, u := range slices.Sorted(maps.Keys(inbox)) {
				want, got := inbox[u], fetchBodies(t, r, imap.UIDSetNum(u), opts)[u]
				if got == nil || !bytes.Equal(got.body, want.body) || !bytes.Equal(got.header, want.header) || !bytes.Equal(got.text, want.text) {
					t.Fatalf("second reader, UID %d: not the bytes the first one read", u)
				}
			}
		}
		// BODY[] one by one: never marks read in EXAMINE, does in SELECT.
		seen := func() int {
			t.Helper()
			res, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			return len(res.AllUIDs())
		}
		body := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{}}}
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		for u := imap.UID(1); u <= 5; u++ {
			fetchBodies(t, c, imap.UIDSetNum(u), body)
		}
		if n := seen(); n != 0 {
			t.Errorf("BODY[] in EXAMINE marked %d messages read", n)
		}
		selectBox(t, c, "INBOX")
		for u := imap.UID(1); u <= 5; u++ {
			fetchBodies(t, c, imap.UIDSetNum(u), body)
		}
		if n := seen(); n != 5 {
			t.Errorf("BODY[] of 5 messages in SELECT: %d read, want 5", n)
		}
	})
}

type fetched struct {
	body, header, text []byte
	size               int64
}

func fetchBodies(t *testing.T, c *imapclient.Client, set imap.UIDSet, opts *imap.FetchOptions) map[imap.UID]*fetched {
	t.Helper()
	msgs, err := c.Fetch(set, opts).Collect()
	if err != nil {
		t.Fatalf("FETCH %v: %v", set, err)
	}
	out := map[imap.UID]*fetched{}
	for _, m := range msgs {
		f := &fetched{size: m.RFC822Size}
		for _, b := range m.BodySection {
			switch b.Section.Specifier {
			case imap.PartSpecifierNone:
				f.body = b.Bytes
			case imap.PartSpecifierHeader:
				f.header = b.Bytes
			case imap.PartSpecifierText:
				f.text = b.Bytes
			}
		}
		out[m.UID] = f
	}
	return out
}
