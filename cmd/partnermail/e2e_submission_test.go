package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/internal/tlsconf"
)

// TestE2ESubmissionLoop is issue 6's end-to-end test, over real protocols
// only, against a `partnermail serve` process whose relay is a go-smtp
// sink: a partner writes (swaks) → staff see it in INBOX and Unread (IMAP)
// → staff reply through submission to the Reply-To they see → the relay
// gets the notification for the partner, threaded, with the author's name
// → the partner replies to it (swaks) → the reply is in the same thread,
// unread again for every staff member.
func TestE2ESubmissionLoop(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			e2eSubmissionLoop(t, driver)
		})
	}
}

func e2eSubmissionLoop(t *testing.T, driver string) {
	swaks := testenv.NeedCommand(t, "swaks", "swaks")
	relay := newE2ESink(t)
	dir := t.TempDir()
	dsn := ""
	if driver == "postgres" {
		dsn = pgSchema(t)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsconf.WriteSelfSigned(cert, key, time.Hour, "localhost", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	conf := procConfig(t, dir, dsn, relay.addr, fmt.Sprintf("[tls]\ncert_file = %q\nkey_file = %q\n", cert, key))
	cli := &env{t: t, cfg: conf, dir: dir}
	cli.ok("", "migrate")
	cli.ok("", "company", "add", "--slug", "acme", "--name", "Acme", "--domain", "partners.acme.localhost")
	cli.ok("pat-password-1\n", "staff", "add", "--company", "acme", "--email", "pat@acme.localhost", "--name", "Pat Manager")
	cli.ok("kim-password-2\n", "staff", "add", "--company", "acme", "--email", "kim@acme.localhost", "--name", "Kim Colleague")
	cli.ok("", "group", "add", "--company", "acme", "--name", "Resellers")
	cli.ok("", "partner", "import", "--company", "acme", cli.file("p.csv", header+
		"Northwind,Resellers,pat@acme.localhost,approved,ana@northwind.localhost,Ana North,true\n"))
	gw := startProc(t, conf)
	smtpHost, smtpPort, _ := net.SplitHostPort(gw.addr(t, "smtp"))

	// 1. A partner writes to the general partner address.
	out, err := exec.Command(swaks, "--server", smtpHost, "--port", smtpPort, "--ehlo", "mx.northwind.localhost",
		"--from", "ana@northwind.localhost", "--to", "partners@partners.acme.localhost",
		"--header", "Subject: Pricing for Q3", "--header", "Message-Id: <ana-1@northwind.localhost>",
		"--header", "From: Ana North <ana@northwind.localhost>",
		"--body", "Hello, what are your prices for Q3?").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks (partner mail): %v\n%s", err, out)
	}

	// 2. Staff see it in INBOX and in Unread.
	pat := e2eIMAP(t, gw.addr(t, "imap"), "pat@acme.localhost", "pat-password-1")
	inbox := e2eMessages(t, pat, "INBOX")
	if len(inbox) != 1 || inbox[0].Envelope.Subject != "Pricing for Q3" {
		t.Fatalf("INBOX = %v, want the partner's message", e2eSubjects(inbox))
	}
	if unread := e2eMessages(t, pat, "Unread"); len(unread) != 1 || e2eSeen(unread[0]) {
		t.Fatalf("Unread = %v, want the partner's message, unseen", e2eSubjects(unread))
	}
	first := inbox[0]
	if len(first.Envelope.ReplyTo) != 1 || !strings.HasPrefix(first.Envelope.ReplyTo[0].Mailbox, "thread+") {
		t.Fatalf("Reply-To = %+v, want thread+TOKEN@partners.acme.localhost", first.Envelope.ReplyTo)
	}
	replyTo := first.Envelope.ReplyTo[0].Addr()
	// Reading it (BODY[] without PEEK) marks it read for the company.
	if err := pat.Fetch(imap.UIDSetNum(first.UID), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Close(); err != nil {
		t.Fatalf("FETCH BODY[]: %v", err)
	}

	// 3. Pat replies from the mail client, through submission (STARTTLS).
	reply := "From: Pat Manager <pat@acme.localhost>\r\nTo: " + replyTo + "\r\nSubject: Re: Pricing for Q3\r\n" +
		"Message-ID: <pat-1@acme.localhost>\r\nIn-Reply-To: <ana-1@northwind.localhost>\r\nReferences: <ana-1@northwind.localhost>\r\n" +
		"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nHi Ana, the Q3 prices are 10% lower.\r\n\r\nOn Tue, Ana North wrote:\r\n> Hello, what are your prices for Q3?\r\n"
	sub, err := smtp.DialStartTLS(gw.addr(t, "submission"), &tls.Config{InsecureSkipVerify: true}) // self-signed test certificate
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Auth(sasl.NewPlainClient("", "pat@acme.localhost", "pat-password-1")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := sub.SendMail("pat@acme.localhost", []string{replyTo}, strings.NewReader(reply)); err != nil {
		t.Fatalf("submission: %v", err)
	}
	sub.Quit()

	// 4. The relay receives the notification for Ana, threaded, with
	// Pat's name.
	note := relay.waitFor(t, "ana@northwind.localhost")
	h := note.msg.Header
	if to := h.Get("To"); !strings.Contains(to, "ana@northwind.localhost") {
		t.Errorf("notification To = %q, want Ana", to)
	}
	if from := h.Get("From"); !strings.Contains(from, "Pat Manager") {
		t.Errorf("notification From = %q, want the staff author's name", from)
	}
	if irt, refs := h.Get("In-Reply-To"), h.Get("References"); !strings.Contains(irt+refs, "<ana-1@northwind.localhost>") || irt == "" {
		t.Errorf("notification In-Reply-To %q References %q, want the partner's message", irt, refs)
	}
	body := string(note.body)
	if !strings.Contains(body, "10% lower") && !strings.Contains(body, "10=25 lower") {
		t.Errorf("notification body lacks the reply text:\n%s", body)
	}
	partnerReplyTo := h.Get("Reply-To")
	if !strings.Contains(partnerReplyTo, "reply+") {
		t.Fatalf("notification Reply-To = %q, want reply+TOKEN@partners.acme.localhost", partnerReplyTo)
	}
	prt, err := mail.ParseAddress(partnerReplyTo)
	if err != nil {
		t.Fatalf("notification Reply-To %q: %v", partnerReplyTo, err)
	}
	// The reply is in the shared Sent folder; the client's own copy,
	// appended there as mail clients do, does not duplicate it; and once
	// the relay took the notification, the message says $Delivered.
	app := pat.Append("Sent", int64(len(reply)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	io.WriteString(app, reply)
	if err := app.Close(); err != nil {
		t.Fatalf("APPEND to Sent: %v", err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatalf("APPEND to Sent: %v", err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		sent := e2eMessages(t, pat, "Sent")
		if len(sent) != 1 || sent[0].Envelope.Subject != "Re: Pricing for Q3" {
			t.Fatalf("Sent = %v, want Pat's reply once", e2eSubjects(sent))
		}
		if slices.Contains(sent[0].Flags, imap.Flag("$Delivered")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Sent flags %v, want $Delivered after the relay accepted the notification", sent[0].Flags)
		}
	}

	// 5. Ana answers the notification from her mail client.
	out, err = exec.Command(swaks, "--server", smtpHost, "--port", smtpPort, "--ehlo", "mx.northwind.localhost",
		"--from", "ana@northwind.localhost", "--to", prt.Address,
		"--header", "Subject: Re: Pricing for Q3", "--header", "Message-Id: <ana-2@northwind.localhost>",
		"--header", "From: Ana North <ana@northwind.localhost>",
		"--header", "In-Reply-To: "+h.Get("Message-Id"),
		"--header", "References: <ana-1@northwind.localhost> "+h.Get("Message-Id"),
		"--body", "Thanks! Does that include shipping?\n\nOn Wed, Pat Manager wrote:\n> Hi Ana, the Q3 prices are 10% lower.").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks (partner reply): %v\n%s", err, out)
	}

	// 6. The reply is in the same thread (same thread+ Reply-To) and
	// unread again, for Pat and for Kim.
	for _, who := range []struct{ c *imapclient.Client }{{pat}, {e2eIMAP(t, gw.addr(t, "imap"), "kim@acme.localhost", "kim-password-2")}} {
		inbox := e2eMessages(t, who.c, "INBOX")
		if len(inbox) != 2 {
			t.Fatalf("INBOX = %v, want the partner's two messages", e2eSubjects(inbox))
		}
		if !e2eSeen(inbox[0]) || e2eSeen(inbox[1]) {
			t.Errorf("INBOX flags %v / %v: want the first read, the reply unread", inbox[0].Flags, inbox[1].Flags)
		}
		if rt := inbox[1].Envelope.ReplyTo; len(rt) != 1 || rt[0].Addr() != replyTo {
			t.Errorf("reply's Reply-To = %+v, want %s (the same thread)", rt, replyTo)
		}
		unread := e2eMessages(t, who.c, "Unread")
		if len(unread) != 1 || unread[0].Envelope.MessageID != "ana-2@northwind.localhost" {
			t.Errorf("Unread = %v, want only Ana's reply", e2eSubjects(unread))
		}
	}
}

// e2eSink is the relay: a go-smtp server that keeps every email whole.
type e2eSink struct {
	addr string
	mu   sync.Mutex
	got  []e2eMail
	wake chan struct{}
	// refuse holds RCPT for these addresses until the channel is closed,
	// then refuses them with 550 5.1.1.
	refuse map[string]chan struct{}
}

type e2eMail struct {
	rcpts []string
	msg   *mail.Message
	body  []byte
}

func newE2ESink(t *testing.T) *e2eSink {
	t.Helper()
	k := &e2eSink{wake: make(chan struct{}, 1), refuse: map[string]chan struct{}{}}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &e2eSinkSession{k: k}, nil }))
	s.Domain = "relay.localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return k
}

// waitFor returns the first email for rcpt, waiting for the worker.
func (k *e2eSink) waitFor(t *testing.T, rcpt string) e2eMail {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		k.mu.Lock()
		for _, m := range k.got {
			for _, r := range m.rcpts {
				if strings.EqualFold(r, rcpt) {
					k.mu.Unlock()
					return m
				}
			}
		}
		k.mu.Unlock()
		select {
		case <-k.wake:
		case <-deadline:
			t.Fatalf("the relay got no email for %s within 60s", rcpt)
		}
	}
}

type e2eSinkSession struct {
	k     *e2eSink
	rcpts []string
}

func (s *e2eSinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *e2eSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.k.mu.Lock()
	release, refuse := s.k.refuse[strings.ToLower(to)]
	s.k.mu.Unlock()
	if refuse {
		<-release
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *e2eSinkSession) Reset()        { s.rcpts = nil }
func (s *e2eSinkSession) Logout() error { return nil }

func (s *e2eSinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(m.Body)
	s.k.mu.Lock()
	s.k.got = append(s.k.got, e2eMail{rcpts: s.rcpts, msg: m, body: body})
	s.k.mu.Unlock()
	select {
	case s.k.wake <- struct{}{}:
	default:
	}
	return nil
}
