package imapd

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

func selectBox(t *testing.T, c *imapclient.Client, name string) *imap.SelectData {
	t.Helper()
	d, err := c.Select(name, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", name, err)
	}
	return d
}

func uidsIn(t *testing.T, c *imapclient.Client, name string) []imap.UID {
	t.Helper()
	d := selectBox(t, c, name)
	if d.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %s: %v", name, err)
	}
	var out []imap.UID
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

// TestTwoSessions: A reads a message, B (in IDLE) is told; B marks it
// unread, it is back in Unread under a higher UID; a team moved to another
// group moves between the filter folders.
func TestTwoSessions(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		m1 := e.deliver(f, f.Acme, f.Ann, "Question about pricing", "Hello, what does it cost?")
		e.deliver(f, f.Solo, f.Sue, "Second", "Another one")

		updates := make(chan *imapclient.FetchMessageData, 16)
		b := e.login(f.Manager.Email, &imapclient.UnilateralDataHandler{
			Fetch: func(msg *imapclient.FetchMessageData) { updates <- msg },
		})
		a := e.login(f.Admin.Email, nil)

		unreadBefore := uidsIn(t, a, "Unread")
		if len(unreadBefore) != 2 {
			t.Fatalf("Unread holds %d messages, want 2", len(unreadBefore))
		}
		selectBox(t, b, "INBOX")
		idle, err := b.Idle()
		if err != nil {
			t.Fatal(err)
		}
		// A reads message 1 of INBOX with BODY[] (not PEEK).
		selectBox(t, a, "INBOX")
		body, err := a.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
		if err != nil || len(body) != 1 {
			t.Fatalf("FETCH BODY[] = %v, %v", body, err)
		}
		var text string
		for _, v := range body[0].BodySection {
			text = string(v.Bytes)
		}
		for _, want := range []string{"Reply-To: <thread+", "X-Partner-Team: Acme Resellers", "X-Partner-Group: Gold",
			"X-Partner-Manager: Pat Manager", "X-Partner-Status: approved", "Hello, what does it cost?",
			"Authentication-Results: partnermail;\r\n\tspf=pass"} {
			if !strings.Contains(text, want) {
				t.Errorf("BODY[] lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "(forged)") {
			t.Errorf("BODY[] shows the forged Authentication-Results:\n%s", text)
		}
		select {
		case u := <-updates:
			buf, _ := u.Collect()
			if buf == nil || !slices.Contains(buf.Flags, imap.FlagSeen) {
				t.Errorf("B got FETCH %+v, want FLAGS with \\Seen", buf)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("B in IDLE was not told that A read the message")
		}
		if err := idle.Close(); err != nil {
			t.Fatal(err)
		}
		if err := idle.Wait(); err != nil {
			t.Fatal(err)
		}

		// The read message left Unread (for a new SELECT).
		if got := uidsIn(t, b, "Unread"); len(got) != 1 {
			t.Fatalf("Unread after reading one: %v, want one UID", got)
		}
		// B marks it unread from INBOX.
		selectBox(t, b, "INBOX")
		if err := b.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		after := uidsIn(t, b, "Unread")
		if len(after) != 2 || after[1] <= slices.Max(unreadBefore) {
			t.Fatalf("Unread after marking unread = %v (before %v), want the message back under a higher UID", after, unreadBefore)
		}

		// Move Acme from Gold to Silver.
		if got := uidsIn(t, a, "Filters/Group/Gold"); len(got) != 1 {
			t.Fatalf("Gold holds %v, want one message", got)
		}
		silver := f.Silver.ID
		if _, err := e.st.UpdateTeam(context.Background(), f.Company.ID, f.Acme.ID, storage.TeamUpdate{GroupID: &silver}); err != nil {
			t.Fatal(err)
		}
		if got := uidsIn(t, a, "Filters/Group/Gold"); len(got) != 0 {
			t.Errorf("Gold after the move holds %v, want nothing", got)
		}
		if got := uidsIn(t, a, "Filters/Group/Silver"); len(got) != 2 {
			t.Errorf("Silver after the move holds %v, want two messages", got)
		}
		// The message shows its new group.
		selectBox(t, a, "Filters/Group/Silver")
		res, err := a.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Partner-Team", Value: "acme"}}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if uids := res.AllUIDs(); len(uids) != 1 {
			t.Errorf("SEARCH HEADER X-Partner-Team acme = %v, want one", uids)
		}
		_ = m1
	})
}
