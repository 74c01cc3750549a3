package imapd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
	"github.com/partnermail/partnermail/threading"
)

const testPassword = "correct horse battery"

var testHash = sync.OnceValue(func() string {
	h, err := auth.Hash(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

type testEnv struct {
	t    testing.TB
	st   *sqlstore.Store
	f    *storagetest.Fixture
	srv  *Server
	addr string
	n    int
}

// newTestServer starts a server on 127.0.0.1:0 over a fresh store holding
// the storagetest fixture company "acme"; its staff log in with
// testPassword.
func newTestServer(t testing.TB, driver string, opts ...func(*Config)) *testEnv {
	t.Helper()
	st := sqlstore.OpenTest(t, driver)
	f := storagetest.NewFixture(t, st, "acme")
	e := &testEnv{t: t, st: st, f: f}
	e.setPasswords(f.Company.ID)
	e.srv, e.addr = startServer(t, st, opts...)
	return e
}

// another is a second testEnv over the same store with a server of its
// own (its own caches and notification hub): another process sharing
// the database.
func (e *testEnv) another(opts ...func(*Config)) *testEnv {
	o := &testEnv{t: e.t, st: e.st, f: e.f}
	o.srv, o.addr = startServer(e.t, e.st, opts...)
	return o
}

// startServer starts a server over st on 127.0.0.1:0.
func startServer(t testing.TB, st *sqlstore.Store, opts ...func(*Config)) (*Server, string) {
	t.Helper()
	tokens, err := threading.NewTokens([]threading.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("IMAPD_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := Config{Store: st, Hub: notify.NewLocal(), Tokens: tokens, Logger: logger,
		InsecureAuth: true, AuthservID: "partnermail", IdleRecheck: time.Hour}
	if os.Getenv("IMAPD_TEST_DEBUG") != "" {
		cfg.Debug = os.Stderr
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, l.Addr().String()
}

func (e *testEnv) setPasswords(companyID int64) {
	e.t.Helper()
	staff, err := e.st.StaffList(context.Background(), companyID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range staff {
		if err := e.st.SetStaffPassword(context.Background(), companyID, s.Email, testHash()); err != nil {
			e.t.Fatal(err)
		}
	}
}

// rawMessage is a partner's message as it arrives.
func rawMessage(from, subject, msgID, body string) string {
	return strings.ReplaceAll(fmt.Sprintf("From: %s\nTo: partners@partners.acme.example\nSubject: %s\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\nMessage-ID: <%s>\n"+
		"Authentication-Results: partnermail; dmarc=pass (forged)\nContent-Type: text/plain; charset=utf-8\n\n%s\n",
		from, subject, msgID, body), "\n", "\r\n")
}

// deliver stores a partner message of member (of team) in a new thread.
func (e *testEnv) deliver(f *storagetest.Fixture, team storage.Team, member storage.Member, subject, body string) storage.Message {
	e.t.Helper()
	e.n++
	id := fmt.Sprintf("m%d-%d@partner.example", e.n, time.Now().UnixNano())
	raw := rawMessage(member.Email, subject, id, body)
	return e.deliverRaw(f, team, member, id, raw, storage.DirectionIn)
}

func (e *testEnv) deliverRaw(f *storagetest.Fixture, team storage.Team, member storage.Member, id, raw, dir string) storage.Message {
	e.t.Helper()
	ctx := context.Background()
	w, err := e.st.Blobs().Create(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := w.Write([]byte(raw)); err != nil {
		e.t.Fatal(err)
	}
	key, err := w.Commit(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	msg := storage.Message{CompanyID: f.Company.ID, Direction: dir, MessageID: id, Subject: "s",
		FromAddr: member.Email, Size: int64(len(raw)), RawKey: key, Text: "text", Date: time.Now(),
		AuthResults: "partnermail; spf=pass smtp.mailfrom=" + member.Email}
	if dir == storage.DirectionIn {
		msg.AuthorMemberID = member.ID
	} else {
		msg.AuthorStaffID = f.Admin.ID
		msg.Seen = true
	}
	m, _, err := e.st.Deliver(ctx, storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: team.ID, Subject: "thread " + id},
		Message:   msg,
	})
	if err != nil {
		e.t.Fatalf("deliver: %v", err)
	}
	return m
}

// login connects a go-imap client as a staff member.
func (e *testEnv) login(email string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialInsecure(e.addr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(email, testPassword).Wait(); err != nil {
		e.t.Fatalf("LOGIN %s: %v", email, err)
	}
	return c
}

// noWarmer turns the cache warmer off: FETCH parses what it needs.
func noWarmer(c *Config) { c.NoCacheWarmer = true }
