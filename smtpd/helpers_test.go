package smtpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
	"github.com/partnermail/partnermail/threading"
)

// testEnv is a running listener on 127.0.0.1:0 over a fresh store with
// the storagetest fixture company ("acme": domain partners.acme.example,
// team Acme Resellers with Ann and Bob in group Gold, Solo Agency with
// Sue in group Silver).
type testEnv struct {
	t      testing.TB
	store  *testStore
	f      *storagetest.Fixture
	tokens *threading.Tokens
	srv    *Server
	addr   string
	hub    *notify.Local
	logs   *testenv.SyncBuffer
	domain string
}

// testStore wraps the real store: it tracks live blobs (to prove nothing
// is left half-stored) and can be told to fail Deliver.
type testStore struct {
	*sqlstore.Store
	blobs       *trackBlobs
	failDeliver atomic.Bool
}

func (s *testStore) Blobs() storage.BlobStore { return s.blobs }

func (s *testStore) Deliver(ctx context.Context, d storage.Delivery) (storage.Message, bool, error) {
	if s.failDeliver.Load() {
		return storage.Message{}, false, errors.New("deliver: database is locked (injected)")
	}
	return s.Store.Deliver(ctx, d)
}

func newTestEnv(t testing.TB, driver string, opts ...func(*Config)) *testEnv {
	t.Helper()
	st := sqlstore.OpenTest(t, driver)
	e := &testEnv{t: t, hub: notify.NewLocal(), logs: &testenv.SyncBuffer{}}
	e.store = &testStore{Store: st, blobs: &trackBlobs{BlobStore: st.Blobs(), live: map[string]bool{}}}
	e.f = storagetest.NewFixture(t, st, "acme")
	e.domain = e.f.Company.Domains[0]
	var err error
	e.tokens, err = threading.NewTokens([]threading.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Store: e.store, Tokens: e.tokens, Hub: e.hub, Hostname: "mx.test.example",
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve = %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

// wholeTeam is the audience of a team conversation.
var wholeTeam storage.Member

// staffThread starts a conversation from staff to team (member 0: the
// whole team) and returns it with the Message-ID of the staff message.
func (e *testEnv) staffThread(team storage.Team, member storage.Member) (storage.Thread, string) {
	e.t.Helper()
	msgID := fmt.Sprintf("staff.%d.%d@%s", team.ID, member.ID, e.domain)
	m, _, err := e.store.Store.Deliver(context.Background(), storage.Delivery{
		NewThread: storage.Thread{CompanyID: e.f.Company.ID, TeamID: team.ID, MemberID: member.ID, Subject: "Q4 pricing"},
		Message: storage.Message{CompanyID: e.f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: e.f.Manager.ID,
			MessageID: msgID, Subject: "Q4 pricing", FromAddr: e.f.Manager.Email, RawKey: "staff-raw", Text: "Does Friday work?"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	th, err := e.store.Thread(context.Background(), e.f.Company.ID, m.ThreadID)
	if err != nil {
		e.t.Fatal(err)
	}
	return th, msgID
}

// address mints a gateway address of the fixture company.
func (e *testEnv) address(tok threading.Token) string {
	e.t.Helper()
	if tok.CompanyID == 0 {
		tok.CompanyID = e.f.Company.ID
	}
	a, err := e.tokens.MintAddress(tok, e.domain)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *testEnv) replyAddr(th storage.Thread, m storage.Member) string {
	return e.address(threading.Token{Kind: threading.KindReply, ThreadID: th.ID, MemberID: m.ID})
}

// messages returns the messages of a thread.
func (e *testEnv) messages(threadID int64) []storage.Message {
	e.t.Helper()
	ms, err := e.store.ThreadMessages(context.Background(), e.f.Company.ID, threadID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// threads counts the company's threads.
func (e *testEnv) threads() []storage.Thread {
	e.t.Helper()
	ts, err := e.store.Threads(context.Background(), e.f.Company.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

// send delivers one message with the go-smtp client and returns the
// error of the first command that failed (nil: 250 to DATA).
func (e *testEnv) send(from string, rcpts []string, msg string) error {
	return sendMail(e.addr, from, nil, rcpts, msg)
}

func sendMail(addr, from string, mo *smtp.MailOptions, rcpts []string, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("mx.partner.example"); err != nil {
		return err
	}
	if err := c.Mail(from, mo); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// wantCode fails unless err is an SMTP reply with code and enhanced code
// and a text containing each of texts.
func wantCode(t *testing.T, what string, err error, code int, enh smtp.EnhancedCode, texts ...string) *smtp.SMTPError {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("%s: err = %v, want %d %v", what, err, code, enh)
	}
	if se.Code != code || se.EnhancedCode != enh {
		t.Errorf("%s: reply = %d %v %q, want %d %v", what, se.Code, se.EnhancedCode, se.Message, code, enh)
	}
	for _, s := range texts {
		if !strings.Contains(se.Message, s) {
			t.Errorf("%s: reply text %q does not contain %q", what, se.Message, s)
		}
	}
	return se
}

// mail builds a message with CRLF line ends; extra header lines come
// before the body.
func mail(from, to, subject, body string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n", from, to, subject)
	hasID := false
	for _, h := range extra {
		hasID = hasID || strings.HasPrefix(strings.ToLower(h), "message-id:")
		b.WriteString(h + "\r\n")
	}
	if !hasID {
		fmt.Fprintf(&b, "Message-ID: <%d@partner.example>\r\n", time.Now().UnixNano())
	}
	b.WriteString("\r\n")
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(body, "\r\n") {
		body += "\r\n" // as the client would add before the final "."
	}
	b.WriteString(body)
	return b.String()
}

// trackBlobs knows which blobs are committed and not deleted.
type trackBlobs struct {
	storage.BlobStore
	mu   sync.Mutex
	live map[string]bool
}

func (b *trackBlobs) Create(ctx context.Context) (storage.BlobWriter, error) {
	w, err := b.BlobStore.Create(ctx)
	if err != nil {
		return nil, err
	}
	return &trackWriter{BlobWriter: w, b: b}, nil
}

func (b *trackBlobs) Delete(ctx context.Context, key string) error {
	b.mu.Lock()
	delete(b.live, key)
	b.mu.Unlock()
	return b.BlobStore.Delete(ctx, key)
}

func (b *trackBlobs) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.live)
}

type trackWriter struct {
	storage.BlobWriter
	b *trackBlobs
}

func (w *trackWriter) Commit(ctx context.Context) (string, error) {
	key, err := w.BlobWriter.Commit(ctx)
	if err == nil {
		w.b.mu.Lock()
		w.b.live[key] = true
		w.b.mu.Unlock()
	}
	return key, err
}

// snapshot is what the store holds, to compare before and after.
type snapshot struct {
	blobs    int
	messages map[int64]int // per thread
}

func (e *testEnv) snapshot() snapshot {
	e.t.Helper()
	sn := snapshot{blobs: e.store.blobs.count(), messages: map[int64]int{}}
	for _, th := range e.threads() {
		sn.messages[th.ID] = len(e.messages(th.ID))
	}
	return sn
}

// nothingStored fails when a refused message left blobs, messages or
// threads behind since before.
func (e *testEnv) nothingStored(what string, before snapshot) {
	e.t.Helper()
	after := e.snapshot()
	if after.blobs != before.blobs {
		e.t.Errorf("%s: %d blobs left behind", what, after.blobs-before.blobs)
	}
	if len(after.messages) != len(before.messages) {
		e.t.Errorf("%s: %d threads, want %d", what, len(after.messages), len(before.messages))
	}
	for id, n := range before.messages {
		if after.messages[id] != n {
			e.t.Errorf("%s: thread %d has %d messages, want %d", what, id, after.messages[id], n)
		}
	}
}
