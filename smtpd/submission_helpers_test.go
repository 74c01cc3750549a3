package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/internal/tlsconf"
	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
	"github.com/partnermail/partnermail/threading"
)

// subPassword is the password of every staff member in these tests.
const subPassword = "correct horse battery"

// subEnv is a submission listener on a real store with two companies.
type subEnv struct {
	store  *sqlstore.Store
	f      *storagetest.Fixture // the staff member's company
	other  *storagetest.Fixture // another company on the same gateway
	tokens *threading.Tokens
	srv    *Submission
	addr   string
	tls    *tls.Config                     // the server's
	stop   func(ctx context.Context) error // Shutdown, once
}

// subOpts changes the listener of newSubEnv.
type subOpts struct {
	insecureAuth bool // default true: plain AUTH from loopback (dev mode)
	secure       bool // turn insecureAuth off
	implicitTLS  bool
	limiter      *auth.Limiter
}

func newSubEnv(t testing.TB, driver string, o subOpts) *subEnv {
	t.Helper()
	ctx := context.Background()
	st := sqlstore.OpenTest(t, driver)
	e := &subEnv{store: st}
	e.f = storagetest.NewFixture(t, st, "acme")
	e.other = storagetest.NewFixture(t, st, "rival")
	hash, err := auth.Hash(subPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []storage.Staff{e.f.Admin, e.f.Manager, e.other.Admin} {
		if err := st.SetStaffPassword(ctx, s.CompanyID, s.Email, hash); err != nil {
			t.Fatal(err)
		}
	}
	e.tokens, err = threading.NewTokens([]threading.Key{{ID: 1, Secret: []byte("submission-test-secret-0123456789")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.tls = subTestTLS(t)
	poster, err := outbound.NewPoster(outbound.PosterConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewSubmission(SubmissionConfig{
		Store: st, Poster: poster, Tokens: e.tokens, TLSConfig: e.tls,
		ImplicitTLS: o.implicitTLS, InsecureAuth: !o.secure, Limiter: o.limiter,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	var once sync.Once
	e.stop = func(ctx context.Context) (err error) {
		once.Do(func() {
			err = srv.Shutdown(ctx)
			if serr := <-done; serr != nil {
				t.Errorf("Serve: %v", serr)
			}
		})
		return err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.stop(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e
}

// subTestTLS is a server TLS config with a fresh self-signed certificate.
func subTestTLS(t testing.TB) *tls.Config {
	t.Helper()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsconf.WriteSelfSigned(cf, kf, time.Hour, "localhost", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// dial connects a go-smtp client, with STARTTLS when starttls is set.
func (e *subEnv) dial(t *testing.T, starttls bool) *smtp.Client {
	t.Helper()
	var c *smtp.Client
	var err error
	clientTLS := &tls.Config{InsecureSkipVerify: true} // self-signed test certificate
	switch {
	case e.srv.cfg.ImplicitTLS:
		c, err = smtp.DialTLS(e.addr, clientTLS)
	case starttls:
		c, err = smtp.DialStartTLS(e.addr, clientTLS)
	default:
		c, err = smtp.Dial(e.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// login dials over STARTTLS and authenticates as staff with PLAIN.
func (e *subEnv) login(t *testing.T, staff storage.Staff) *smtp.Client {
	t.Helper()
	c := e.dial(t, true)
	if err := c.Auth(sasl.NewPlainClient("", staff.Email, subPassword)); err != nil {
		t.Fatalf("AUTH PLAIN %s: %v", staff.Email, err)
	}
	return c
}

// threadAddr mints the thread+TOKEN address of a thread, as the IMAP view
// puts it in Reply-To.
func (e *subEnv) threadAddr(t *testing.T, f *storagetest.Fixture, threadID int64) string {
	t.Helper()
	a, err := e.tokens.MintAddress(threading.Token{Kind: threading.KindThread, CompanyID: f.Company.ID, ThreadID: threadID}, f.Company.Domains[0])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// partnerThread stores a partner message from member in a new thread of
// team and returns it.
func (e *subEnv) partnerThread(t *testing.T, team storage.Team, member storage.Member, msgID string) storage.Message {
	t.Helper()
	ctx := context.Background()
	w, err := e.store.Blobs().Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: " + member.Email + "\r\nTo: partners@" + e.f.Company.Domains[0] + "\r\nSubject: Question\r\nMessage-ID: <" + msgID + ">\r\n\r\nHello?\r\n"
	w.Write([]byte(raw))
	key, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := e.store.Deliver(ctx, storage.Delivery{
		NewThread: storage.Thread{CompanyID: e.f.Company.ID, TeamID: team.ID, Subject: "Question"},
		Message: storage.Message{CompanyID: e.f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: member.ID,
			MessageID: msgID, Subject: "Question", FromAddr: member.Email, Size: int64(len(raw)), RawKey: key, Text: "Hello?",
			Date: time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// subSend runs one transaction and returns the first error with the
// command that failed.
func subSend(c *smtp.Client, from string, rcpts []string, msg string) (failed string, err error) {
	if err := c.Mail(from, nil); err != nil {
		return "MAIL", err
	}
	ok := 0
	var rcptErr error
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			if rcptErr == nil {
				rcptErr = err
			}
			continue
		}
		ok++
	}
	if ok == 0 {
		c.Reset()
		return "RCPT", rcptErr
	}
	w, err := c.Data()
	if err != nil {
		return "DATA", err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return "DATA", err
	}
	if err := w.Close(); err != nil {
		return "DATA", err
	}
	if rcptErr != nil {
		return "RCPT", rcptErr
	}
	return "", nil
}

// subMessage is a simple message from staff.
func subMessage(from, to, subject, body string, extra ...string) string {
	h := "From: Staff <" + from + ">\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n" +
		"Message-ID: <" + strings.ReplaceAll(strings.ToLower(subject), " ", "-") + "@client.test>\r\n" +
		"Date: Wed, 25 Nov 2026 09:00:00 +0000\r\n"
	for _, x := range extra {
		h += x + "\r\n"
	}
	return h + "\r\n" + body + "\r\n"
}

// subWantError checks a refusal: its code and that its text says why.
func subWantError(t *testing.T, what string, err error, code int, text string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("%s: err = %v, want SMTP %d %q", what, err, code, text)
	}
	if se.Code != code || !strings.Contains(strings.ToLower(se.Message), strings.ToLower(text)) {
		t.Fatalf("%s: reply %d %q, want %d containing %q", what, se.Code, se.Message, code, text)
	}
}

// threadsOf returns the threads of the company with their messages.
func (e *subEnv) threadsOf(t *testing.T, companyID int64) map[storage.Thread][]storage.Message {
	t.Helper()
	ctx := context.Background()
	ths, err := e.store.Threads(ctx, companyID)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[storage.Thread][]storage.Message)
	for _, th := range ths {
		ms, err := e.store.ThreadMessages(ctx, companyID, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[th] = ms
	}
	return out
}

// queued lists the outbound emails of a company by recipient.
func (e *subEnv) queued(t *testing.T, companyID int64) map[string]storage.OutboundEmail {
	t.Helper()
	q, err := e.store.Queue(context.Background(), companyID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]storage.OutboundEmail)
	for _, o := range q {
		if _, dup := out[o.Rcpt]; dup {
			t.Errorf("two emails queued for %s", o.Rcpt)
		}
		out[o.Rcpt] = o
	}
	return out
}
