package imapd

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestCompanyIsolation: staff of company B see nothing of company A.
func TestCompanyIsolation(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		a := e.f
		ctx := context.Background()
		if _, err := e.st.CreateGroup(ctx, a.Company.ID, "OnlyAtAcme"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			e.deliver(a, a.Acme, a.Ann, "secret of A", "confidential")
		}
		b := storagetest.NewFixture(t, e.st, "bravo")
		e.setPasswords(b.Company.ID)

		ca := e.login(a.Admin.Email, nil)
		if err := ca.Create("Private-of-A", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		cb := e.login(b.Admin.Email, nil)
		list, err := cb.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if strings.Contains(l.Mailbox, "OnlyAtAcme") || strings.Contains(l.Mailbox, "Private-of-A") {
				t.Errorf("B lists %q", l.Mailbox)
			}
		}
		for _, name := range []string{"Filters/Group/OnlyAtAcme", "Private-of-A"} {
			if _, err := cb.Select(name, nil).Wait(); err == nil {
				t.Errorf("B can SELECT %q", name)
			}
		}
		d, err := cb.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if d.NumMessages != 0 {
			t.Errorf("B's INBOX holds %d messages, want 0", d.NumMessages)
		}
		msgs, err := cb.Fetch(imap.UIDSet{{Start: 1, Stop: 1000}}, &imap.FetchOptions{Envelope: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 0 {
			t.Errorf("B's UID FETCH 1:1000 returned %d messages, want none", len(msgs))
		}
		st, err := cb.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *st.NumMessages != 0 {
			t.Errorf("B's STATUS INBOX = %v, %v; want 0 messages", st, err)
		}
		// A still sees its own.
		da, err := ca.Select("INBOX", nil).Wait()
		if err != nil || da.NumMessages != 5 {
			t.Errorf("A's INBOX = %v, %v; want 5 messages", da, err)
		}
	})
}
