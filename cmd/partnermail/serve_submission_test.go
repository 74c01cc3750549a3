package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestServeSubmission drives the submission listener of `serve --demo`
// with a go-smtp client: a new team conversation is accepted, a relay
// attempt and a team in a disabled group are refused with their reasons,
// and the metrics count them.
func TestServeSubmission(t *testing.T) {
	addrs, stderr, _ := startServe(t, "", "--demo")
	m := regexp.MustCompile(`manager@demo.localhost  password (\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no demo password in:\n%s", stderr.String())
	}
	c, err := smtp.Dial(addrs["submission"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Dev mode: plain AUTH on loopback.
	if err := c.Auth(sasl.NewPlainClient("", "manager@demo.localhost", m[1])); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.Mail("manager@demo.localhost", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("stranger@example.org", nil); err == nil || !strings.Contains(err.Error(), "not a partner of this program") {
		t.Errorf("RCPT outsider: %v, want 550 not a partner of this program", err)
	}
	if err := c.Rcpt("di@fabrikam.localhost", nil); err == nil || !strings.Contains(err.Error(), "please write to support@demo.localhost") {
		t.Errorf("RCPT member of a disabled group: %v, want the group's redirect text", err)
	}
	if err := c.Rcpt("team+northwind@partners.demo.localhost", nil); err != nil {
		t.Fatalf("RCPT team: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: Dana <manager@demo.localhost>\r\nTo: team+northwind@partners.demo.localhost\r\nSubject: Welcome\r\n" +
		"Message-ID: <welcome-1@client.test>\r\n\r\nHello Northwind\r\n"
	io.WriteString(w, msg)
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	c.Quit()

	// Over IMAP the message is in Sent with its delivery keyword, and the
	// client's own copy appended to Sent does not duplicate it.
	ic := e2eIMAP(t, addrs["imap"], "manager@demo.localhost", m[1])
	app := ic.Append("Sent", int64(len(msg)), nil)
	io.WriteString(app, msg)
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatalf("APPEND to Sent: %v", err)
	}
	sent := e2eMessages(t, ic, "Sent")
	if len(sent) != 1 || sent[0].Envelope.Subject != "Welcome" || sent[0].Envelope.MessageID != "welcome-1@client.test" {
		t.Fatalf("Sent = %v, want the message once", e2eSubjects(sent))
	}
	if !slices.ContainsFunc(sent[0].Flags, func(f imap.Flag) bool { return f == "$Queued" || f == "$Delivered" }) {
		t.Errorf("Sent flags = %v, want $Queued or $Delivered", sent[0].Flags)
	}

	resp, err := http.Get("http://" + addrs["http"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`partnermail_submission_events_total{event="login_ok"} 1`, `partnermail_submission_events_total{event="posted"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// e2eIMAP logs a staff member in over IMAP.
func e2eIMAP(t *testing.T, addr, user, pass string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN %s: %v", user, err)
	}
	return c
}

// e2eMessages selects a mailbox and fetches every message's UID, flags and
// envelope (without marking anything read).
func e2eMessages(t *testing.T, c *imapclient.Client, mailbox string) []*imapclient.FetchMessageBuffer {
	t.Helper()
	mb, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", mailbox, err)
	}
	if mb.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %s: %v", mailbox, err)
	}
	return msgs
}

func e2eSeen(m *imapclient.FetchMessageBuffer) bool {
	for _, f := range m.Flags {
		if f == imap.FlagSeen {
			return true
		}
	}
	return false
}

func e2eSubjects(ms []*imapclient.FetchMessageBuffer) []string {
	var s []string
	for _, m := range ms {
		s = append(s, fmt.Sprintf("%d %q %v", m.UID, m.Envelope.Subject, m.Flags))
	}
	return s
}

// IMAP and submission share one failed-login budget per account: guesses
// spent on one protocol are not granted again on the other.
func TestServeLoginBudgetShared(t *testing.T) {
	addrs, stderr, _ := startServe(t, "", "--demo")
	m := regexp.MustCompile(`manager@demo.localhost  password (\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no demo password in:\n%s", stderr.String())
	}
	for i := 0; i < 10; i++ { // auth.Limiter's default budget
		c, err := imapclient.DialInsecure(addrs["imap"], nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login("manager@demo.localhost", fmt.Sprintf("guess-%d", i)).Wait(); err == nil {
			t.Fatal("IMAP LOGIN with a wrong password succeeded")
		}
		c.Close()
	}
	c, err := smtp.Dial(addrs["submission"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Auth(sasl.NewPlainClient("", "manager@demo.localhost", m[1]))
	if err == nil || !strings.Contains(err.Error(), "Too many failed logins") {
		t.Errorf("submission AUTH after 10 failed IMAP logins = %v, want 454 too many failed logins", err)
	}
}
