package imapd

import (
	"context"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/threading"
)

// TestEmptyLines: empty lines between commands are skipped, not fatal;
// an empty line inside a literal stays part of it.
func TestEmptyLines(t *testing.T) {
	e := newTestServer(t, sqlstore.SQLite)
	rc := dialRaw(t, e.addr)
	out := rc.cmd("a1", "\r\n\r\na1 LOGIN "+e.f.Admin.Email+" \""+testPassword+"\"\r\n")
	if !strings.Contains(out, "a1 OK") {
		t.Fatalf("LOGIN after empty lines: %q", out)
	}
	msg := "Subject: x\r\n\r\n\r\nbody after an empty line\r\n"
	out = rc.cmd("a2", "\r\na2 APPEND Drafts {"+strconv.Itoa(len(msg))+"+}\r\n"+msg+"\r\n")
	if !strings.Contains(out, "a2 OK") {
		t.Fatalf("APPEND: %q", out)
	}
	out = rc.cmd("a3", "\na3 SELECT Drafts\r\n")
	if !strings.Contains(out, "a3 OK") {
		t.Fatalf("SELECT: %q", out)
	}
	out = rc.cmd("a4", "a4 FETCH 1 BODY.PEEK[TEXT]\r\n")
	if !strings.Contains(out, "{28}\r\n\r\nbody after an empty line\r\n") {
		t.Errorf("FETCH BODY[TEXT] = %q", out)
	}
}

// TestLoginPolicy: without InsecureAuth a plain connection gets
// LOGINDISABLED; failed logins are rate limited.
func TestLoginPolicy(t *testing.T) {
	st := sqlstore.OpenTest(t, sqlstore.SQLite)
	tokens, _ := threading.NewTokens([]threading.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}, time.Now)
	srv, err := New(Config{Store: st, Hub: notify.NewLocal(), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	rc := dialRaw(t, l.Addr().String())
	out := rc.cmd("a1", "a1 CAPABILITY\r\n")
	if !strings.Contains(out, "LOGINDISABLED") {
		t.Errorf("CAPABILITY without TLS = %q, want LOGINDISABLED", out)
	}
	out = rc.cmd("a2", "a2 LOGIN x@y.example secretsecret\r\n")
	if !strings.Contains(out, "a2 NO") {
		t.Errorf("LOGIN without TLS = %q, want NO", out)
	}

	// Rate limiting.
	e2 := newTestServer(t, sqlstore.SQLite)
	e2.srv.cfg.Limiter = &auth.Limiter{Max: 2, Window: time.Hour}
	for i := 0; i < 2; i++ {
		c, _ := imapclient.DialInsecure(e2.addr, nil)
		if err := c.Login(e2.f.Admin.Email, "wrong password").Wait(); err == nil {
			t.Fatal("wrong password accepted")
		}
		c.Close()
	}
	c, _ := imapclient.DialInsecure(e2.addr, nil)
	defer c.Close()
	err = c.Login(e2.f.Admin.Email, testPassword).Wait()
	if !isCode(err, imap.ResponseCodeUnavailable) {
		t.Errorf("LOGIN after 2 failures = %v, want NO [UNAVAILABLE]", err)
	}
}

const multipartMsg = "From: Ann <ann@acme-acme.example>\r\nTo: partners@partners.acme.example\r\nSubject: =?utf-8?q?Pr=C3=BCfung?=\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello there\r\nsecond line\r\n" +
	"--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\n" + "JVBERi0xLjQKJcfsj6IK\r\n" +
	"--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@y.example\r\n\r\ninner body\r\n" +
	"--b1--\r\nepilogue\r\n"

// TestStructure: BODYSTRUCTURE, sections of parts, BINARY.
func TestStructure(t *testing.T) {
	e := newTestServer(t, sqlstore.SQLite)
	f := e.f
	e.deliverRaw(f, f.Acme, f.Ann, "mp@x", multipartMsg, "in")
	c := e.login(f.Admin.Email, nil)
	selectBox(t, c, "INBOX")
	secs := []*imap.FetchItemBodySection{
		{Peek: true, Part: []int{1}},
		{Peek: true, Part: []int{2}, Specifier: imap.PartSpecifierMIME},
		{Peek: true, Part: []int{3}, Specifier: imap.PartSpecifierHeader},
		{Peek: true, Part: []int{3}, Specifier: imap.PartSpecifierText},
		{Peek: true, Part: []int{3, 1}},
	}
	got, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		Envelope: true, BodySection: secs, BinarySection: []*imap.FetchItemBinarySection{{Part: []int{2}, Peek: true}}}).Collect()
	if err != nil || len(got) != 1 {
		t.Fatalf("FETCH: %v, %v", got, err)
	}
	m := got[0]
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 3 || mp.Subtype != "mixed" {
		t.Fatalf("BODYSTRUCTURE = %#v", m.BodyStructure)
	}
	text := mp.Children[0].(*imap.BodyStructureSinglePart)
	if text.Size != uint32(len("Hello there\r\nsecond line")) || text.Text.NumLines != 1 {
		t.Errorf("text part size %d lines %d", text.Size, text.Text.NumLines)
	}
	if m.Envelope.Subject != "Prüfung" || len(m.Envelope.ReplyTo) != 1 || !strings.HasPrefix(m.Envelope.ReplyTo[0].Mailbox, "thread+") {
		t.Errorf("ENVELOPE = %+v", m.Envelope)
	}
	want := []string{"Hello there\r\nsecond line",
		"Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		"Subject: inner\r\nFrom: x@y.example\r\n\r\n", "inner body", "inner body"}
	for i, sec := range secs {
		if g := string(m.FindBodySection(sec)); g != want[i] {
			t.Errorf("section %v %s = %q, want %q", sec.Part, sec.Specifier, g, want[i])
		}
	}
	pdf, _ := base64.StdEncoding.DecodeString("JVBERi0xLjQKJcfsj6IK")
	if g := m.FindBinarySection(&imap.FetchItemBinarySection{Part: []int{2}}); string(g) != string(pdf) {
		t.Errorf("BINARY[2] = %q, want %q", g, pdf)
	}
}

// TestPendingCap: a session that may not be told about expunges (it only
// FETCHes) and owes more than MaxPending ends with BYE instead of
// growing.
func TestPendingCap(t *testing.T) {
	e := newTestServer(t, sqlstore.SQLite)
	e.srv.cfg.MaxPending = 2
	a := e.login(e.f.Admin.Email, nil)
	b := e.login(e.f.Admin.Email, nil)
	if err := a.Create("Box", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		raw := "Subject: " + strconv.Itoa(i) + "\r\n\r\nx\r\n"
		ap := a.Append("Box", int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDeleted}})
		ap.Write([]byte(raw))
		ap.Close()
		if _, err := ap.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	rc := dialRaw(t, e.addr)
	rc.cmd("a1", "a1 LOGIN "+e.f.Admin.Email+" \""+testPassword+"\"\r\n")
	rc.cmd("a2", "a2 SELECT Box\r\n")
	selectBox(t, b, "Box")
	if _, err := b.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.c.Write([]byte("a3 FETCH 1 FLAGS\r\n")); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for {
		rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := rc.r.ReadString('\n')
		all.WriteString(l)
		if err != nil {
			break
		}
	}
	if !strings.Contains(all.String(), "* BYE") {
		t.Errorf("session owing 4 expunges (cap 2) got %q, want BYE", all.String())
	}
}
