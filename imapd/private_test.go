package imapd

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

func isCode(err error, code imap.ResponseCode) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == code
}

// TestPrivateFolders: CREATE, APPEND, COPY of a shared message (a private
// copy), MOVE, STORE keywords, EXPUNGE, RENAME, DELETE; shared messages
// cannot be deleted or moved out.
func TestPrivateFolders(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		e.deliver(f, f.Acme, f.Ann, "Partner question", "body one")
		e.deliver(f, f.Solo, f.Sue, "Other question", "body two")
		c := e.login(f.Admin.Email, nil)

		for _, name := range []string{"Archives", "Trash", "Templates/Replies"} {
			if err := c.Create(name, nil).Wait(); err != nil {
				t.Fatalf("CREATE %s: %v", name, err)
			}
		}
		if err := c.Create("Filters/Mine", nil).Wait(); !isCode(err, imap.ResponseCodeCannot) {
			t.Errorf("CREATE Filters/Mine = %v, want NO [CANNOT]", err)
		}
		if err := c.Create("Archives", nil).Wait(); !isCode(err, imap.ResponseCodeAlreadyExists) {
			t.Errorf("CREATE Archives twice = %v, want NO [ALREADYEXISTS]", err)
		}

		// APPEND a draft.
		raw := "From: admin@acme.example\r\nSubject: draft\r\n\r\nunfinished\r\n"
		ap := c.Append("Drafts", int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft, "$Custom"}})
		ap.Write([]byte(raw))
		ap.Close()
		ad, err := ap.Wait()
		if err != nil {
			t.Fatalf("APPEND Drafts: %v", err)
		}
		selectBox(t, c, "Drafts")
		got, err := c.Fetch(imap.UIDSetNum(ad.UID), &imap.FetchOptions{Flags: true, RFC822Size: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil || len(got) != 1 {
			t.Fatalf("FETCH draft = %v, %v", got, err)
		}
		if body := string(got[0].FindBodySection(&imap.FetchItemBodySection{Peek: true})); body != raw {
			t.Errorf("draft BODY[] = %q, want the appended bytes %q", body, raw)
		}
		if got[0].RFC822Size != int64(len(raw)) || !slices.Contains(got[0].Flags, "$Custom") || !slices.Contains(got[0].Flags, imap.FlagDraft) {
			t.Errorf("draft size %d flags %v", got[0].RFC822Size, got[0].Flags)
		}

		// Shared messages cannot be deleted or moved out.
		selectBox(t, c, "INBOX")
		err = c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
		if !isCode(err, imap.ResponseCodeCannot) {
			t.Errorf("STORE +FLAGS \\Deleted in INBOX = %v, want NO [CANNOT]", err)
		}
		if _, err := c.Move(imap.SeqSetNum(1), "Archives").Wait(); !isCode(err, imap.ResponseCodeCannot) {
			t.Errorf("MOVE out of INBOX = %v, want NO [CANNOT]", err)
		}
		// COPY makes a private copy with the staff-view headers.
		cp, err := c.Copy(imap.SeqSetNum(1), "Archives").Wait()
		if err != nil {
			t.Fatalf("COPY to Archives: %v", err)
		}
		if cp.DestUIDs.String() != "1" {
			t.Errorf("COPYUID dest = %v, want 1", cp.DestUIDs)
		}
		d := selectBox(t, c, "INBOX")
		if d.NumMessages != 2 {
			t.Errorf("INBOX after COPY holds %d, want 2", d.NumMessages)
		}
		selectBox(t, c, "Archives")
		got, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil || len(got) != 1 {
			t.Fatalf("FETCH copy = %v, %v", got, err)
		}
		body := string(got[0].FindBodySection(&imap.FetchItemBodySection{Peek: true}))
		if !strings.Contains(body, "X-Partner-Team: ") || !strings.Contains(body, "Reply-To: <thread+") || strings.Contains(body, "(forged)") {
			t.Errorf("private copy lacks the staff view:\n%s", body)
		}
		// Keywords, MOVE, EXPUNGE.
		if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{"$Label1", imap.FlagFlagged}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Move(imap.SeqSetNum(1), "Trash").Wait(); err != nil {
			t.Fatalf("MOVE Archives → Trash: %v", err)
		}
		if d := selectBox(t, c, "Archives"); d.NumMessages != 0 {
			t.Errorf("Archives after MOVE holds %d", d.NumMessages)
		}
		selectBox(t, c, "Trash")
		got, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
		if err != nil || len(got) != 1 || !slices.Contains(got[0].Flags, "$Label1") {
			t.Fatalf("Trash after MOVE = %v, %v; want the message with $Label1", got, err)
		}
		if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		exp, err := c.Expunge().Collect()
		if err != nil || len(exp) != 1 || exp[0] != 1 {
			t.Errorf("EXPUNGE = %v, %v; want [1]", exp, err)
		}
		// RENAME and DELETE.
		if err := c.Rename("Templates", "Patterns", nil).Wait(); err != nil {
			t.Fatalf("RENAME: %v", err)
		}
		if _, err := c.Select("Patterns/Replies", nil).Wait(); err != nil {
			t.Errorf("SELECT the renamed child: %v", err)
		}
		// DELETE of a folder with children leaves them, under a
		// \Noselect name (RFC 9051 6.3.5).
		if err := c.Delete("Patterns").Wait(); err != nil {
			t.Errorf("DELETE of a folder with children: %v", err)
		}
		list, err := c.List("", "Patterns*", nil).Collect()
		if err != nil || len(list) != 2 || !slices.Contains(list[0].Attrs, imap.MailboxAttrNoSelect) || list[1].Mailbox != "Patterns/Replies" {
			t.Errorf("LIST after DELETE of the parent = %+v, %v; want Patterns \\Noselect and Patterns/Replies", list, err)
		}
		if _, err := c.Select("Patterns", nil).Wait(); err == nil {
			t.Error("SELECT of the deleted parent succeeded")
		}
		if err := c.Delete("Patterns/Replies").Wait(); err != nil {
			t.Errorf("DELETE Patterns/Replies: %v", err)
		}
		if err := c.Delete("INBOX").Wait(); !isCode(err, imap.ResponseCodeCannot) {
			t.Errorf("DELETE INBOX = %v, want NO [CANNOT]", err)
		}
		// The shared record stays.
		if d := selectBox(t, c, "INBOX"); d.NumMessages != 2 {
			t.Errorf("INBOX holds %d, want 2", d.NumMessages)
		}
	})
}

// TestReadOnlyAndPeek: EXAMINE and BODY.PEEK never mark read; BODY[] in
// a SELECTed folder does; LIST shows special-use; APPEND to Sent of a
// message partnermail sent does not duplicate it.
func TestReadOnlyAndPeek(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		e.deliver(f, f.Acme, f.Ann, "Partner question", "body one")
		c := e.login(f.Admin.Email, nil)
		seen := func() bool {
			t.Helper()
			st, err := c.Status("Unread", &imap.StatusOptions{NumMessages: true}).Wait()
			if err != nil {
				t.Fatal(err)
			}
			return *st.NumMessages == 0
		}
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
			t.Fatal(err)
		}
		if seen() {
			t.Error("BODY[] under EXAMINE marked the message read")
		}
		if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err == nil {
			t.Error("STORE under EXAMINE succeeded")
		}
		selectBox(t, c, "INBOX")
		if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect(); err != nil {
			t.Fatal(err)
		}
		if seen() {
			t.Error("BODY.PEEK[] marked the message read")
		}
		// Partial fetch.
		got, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{
			{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: 10}}}}).Collect()
		if err != nil || len(got) != 1 {
			t.Fatal(err)
		}
		for _, v := range got[0].BodySection {
			if string(v.Bytes) != "Reply-To: " {
				t.Errorf("BODY.PEEK[]<0.10> = %q", v.Bytes)
			}
		}
		if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText}}}).Collect(); err != nil {
			t.Fatal(err)
		}
		if !seen() {
			t.Error("BODY[TEXT] in a SELECTed INBOX did not mark the message read")
		}

		// Special use.
		list, err := c.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		attrs := map[string][]imap.MailboxAttr{}
		for _, l := range list {
			attrs[l.Mailbox] = l.Attrs
		}
		if !slices.Contains(attrs["Sent"], imap.MailboxAttrSent) || !slices.Contains(attrs["Drafts"], imap.MailboxAttrDrafts) {
			t.Errorf("LIST attributes: %v", attrs)
		}
		for _, want := range []string{"INBOX", "Unread", "Filters/Group/Gold", "Filters/Group/Gold/Unread", "Filters/Manager/Pat Manager",
			"Filters/Status/Pending/Unread", "Filters/Status/Declined"} {
			if _, ok := attrs[want]; !ok {
				t.Errorf("LIST lacks %q (has %v)", want, attrs)
			}
		}

		// APPEND to Sent.
		out := e.deliverRaw(f, f.Acme, f.Ann, "staff-1@acme.example",
			"From: admin@acme.example\r\nMessage-ID: <staff-1@acme.example>\r\nSubject: Re\r\n\r\nanswer\r\n", storage.DirectionOut)
		_ = out
		d := selectBox(t, c, "Sent")
		if d.NumMessages != 1 {
			t.Fatalf("Sent holds %d, want 1", d.NumMessages)
		}
		copyRaw := "From: admin@acme.example\r\nMessage-ID: <staff-1@acme.example>\r\nSubject: Re\r\n\r\nanswer (client copy)\r\n"
		ap := c.Append("Sent", int64(len(copyRaw)), nil)
		ap.Write([]byte(copyRaw))
		ap.Close()
		if _, err := ap.Wait(); err != nil {
			t.Fatalf("APPEND Sent of a sent message: %v", err)
		}
		if d := selectBox(t, c, "Sent"); d.NumMessages != 1 {
			t.Errorf("Sent after APPEND holds %d, want still 1", d.NumMessages)
		}
		other := "From: admin@acme.example\r\nMessage-ID: <elsewhere@acme.example>\r\n\r\nx\r\n"
		ap = c.Append("Sent", int64(len(other)), nil)
		ap.Write([]byte(other))
		ap.Close()
		if _, err := ap.Wait(); !isCode(err, imap.ResponseCodeCannot) {
			t.Errorf("APPEND Sent of an unknown message = %v, want NO [CANNOT]", err)
		}
	})
}
