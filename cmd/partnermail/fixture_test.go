package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// fixture is the company every process test works with.
const (
	fxDomain   = "partners.acme.localhost"
	fxGeneral  = "partners@" + fxDomain
	fxStaff    = "staff@acme.localhost"
	fxPassword = "correct horse battery staple"
)

// pm runs one admin command with the binary and returns its stdout.
func pm(t testing.TB, conf, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"--config", conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("partnermail %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// setupCompany creates company acme with one staff login, group Resellers
// and members member0..member<n-1>@m<i%teams>.localhost (10 per team).
func setupCompany(t testing.TB, conf string, members int) {
	t.Helper()
	pm(t, conf, "", "company", "add", "--slug", "acme", "--name", "Acme", "--domain", fxDomain)
	pm(t, conf, fxPassword+"\n", "staff", "add", "--company", "acme", "--email", fxStaff, "--name", "Sam Staff")
	pm(t, conf, "", "group", "add", "--company", "acme", "--name", "Resellers")
	var csv strings.Builder
	csv.WriteString(strings.Join(csvHeader, ",") + "\n")
	for i := range members {
		fmt.Fprintf(&csv, "Team %d,Resellers,,approved,%s,Member %d,yes\n", i/10, memberAddr(i), i)
	}
	f := filepath.Join(t.TempDir(), "partners.csv")
	if err := os.WriteFile(f, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	pm(t, conf, "", "partner", "import", "--company", "acme", f)
}

func memberAddr(i int) string { return fmt.Sprintf("member%d@team%d.localhost", i, i/10) }

// sendInbound sends one partner email to the general address through the
// SMTP listener at addr and returns the server's error (nil for 250).
func sendInbound(addr, from, msgID, subject string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	body := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello from %s.\r\n",
		from, fxGeneral, subject, msgID, time.Now().Format(time.RFC1123Z), from)
	if err := c.SendMail(from, []string{fxGeneral}, strings.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

// imapLogin opens an IMAP session as the fixture's staff login.
func imapLogin(t testing.TB, addr string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		t.Fatalf("IMAP dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(fxStaff, fxPassword).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN: %v", err)
	}
	return c
}

// inboxByUID returns UID → Message-ID of every message in INBOX.
func inboxByUID(t testing.TB, c *imapclient.Client) map[imap.UID]string {
	t.Helper()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("EXAMINE INBOX: %v", err)
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:* (UID ENVELOPE): %v", err)
	}
	out := map[imap.UID]string{}
	for _, m := range msgs {
		if _, dup := out[m.UID]; dup {
			t.Errorf("UID %d listed twice in INBOX", m.UID)
		}
		out[m.UID] = m.Envelope.MessageID
	}
	return out
}

// deliverFixture stores an inbound message from member 0 directly in the
// database (a fixture; the inbound listener is tested elsewhere) and
// returns its row id.
func deliverFixture(t testing.TB, dsn, msgID string) int64 {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{Driver: sqlstore.Postgres, DSN: dsn, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	co, err := s.CompanyBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	mem, err := s.MemberByEmail(ctx, co.ID, memberAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: Fixture\r\nMessage-ID: <%s>\r\n\r\nHello.\r\n", memberAddr(0), fxGeneral, msgID)
	w, err := s.Blobs().Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, raw)
	key, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := s.Deliver(ctx, storage.Delivery{
		NewThread: storage.Thread{CompanyID: co.ID, TeamID: mem.TeamID, Subject: "Fixture"},
		Message: storage.Message{CompanyID: co.ID, Direction: storage.DirectionIn, AuthorMemberID: mem.ID, MessageID: msgID,
			Subject: "Fixture", FromAddr: memberAddr(0), Size: int64(len(raw)), RawKey: key, Text: "Hello."},
	})
	if err != nil {
		t.Fatalf("deliver fixture: %v", err)
	}
	return m.ID
}

// uidOf finds a message of the selected mailbox by Message-ID.
func uidOf(t testing.TB, c *imapclient.Client, msgID string) imap.UID {
	t.Helper()
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: msgID}}}, nil).Wait()
	if err != nil {
		t.Fatalf("UID SEARCH HEADER Message-ID %s: %v", msgID, err)
	}
	uids := data.AllUIDs()
	if len(uids) != 1 {
		t.Fatalf("UID SEARCH HEADER Message-ID %s = %v, want one message", msgID, uids)
	}
	return uids[0]
}

// waitFor polls cond; the deadline only bounds a hang.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", limit, what)
		}
	}
}
