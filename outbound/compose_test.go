package outbound

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
	"github.com/partnermail/partnermail/templates"
	"github.com/partnermail/partnermail/threading"
)

var _ ComposeStore = (*sqlstore.Store)(nil)

type composeEnv struct {
	st     *sqlstore.Store
	f      *storagetest.Fixture
	tokens *threading.Tokens
	c      *TemplateComposer
}

func newComposeEnv(t testing.TB, driver, tplDir string) *composeEnv {
	t.Helper()
	st := sqlstore.OpenTest(t, driver)
	f := storagetest.NewFixture(t, st, "acme")
	tokens, err := threading.NewTokens([]threading.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.New(tplDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewComposer(ComposerConfig{Store: st, Tokens: tokens, Templates: tpl, PublicURL: "https://pm.example/"})
	if err != nil {
		t.Fatal(err)
	}
	return &composeEnv{st: st, f: f, tokens: tokens, c: c}
}

// putBlob stores data as a committed blob.
func (env *composeEnv) putBlob(t *testing.T, data []byte) string {
	t.Helper()
	ctx := context.Background()
	w, err := env.st.Blobs().Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	key, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func (env *composeEnv) deliver(t *testing.T, d storage.Delivery) storage.Message {
	t.Helper()
	m, created, err := env.st.Deliver(context.Background(), d)
	if err != nil || !created {
		t.Fatalf("Deliver(%s): created=%v, %v", d.Message.MessageID, created, err)
	}
	return m
}

// compose composes row and returns the written email, parsed.
func (env *composeEnv) compose(t *testing.T, row storage.OutboundEmail) (*Email, []byte) {
	t.Helper()
	em, err := env.c.Compose(context.Background(), row)
	if err != nil {
		t.Fatalf("Compose(%+v): %v", row, err)
	}
	var buf bytes.Buffer
	n, err := em.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo = %d, wrote %d", n, buf.Len())
	}
	if em.Close != nil {
		if err := em.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	return em, buf.Bytes()
}

// parsed is a composed email read back with go-message.
type parsed struct {
	h     mail.Header
	text  string
	html  string
	files map[string][]byte // by filename
	types map[string]string // content type by filename
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	p := parsed{h: mr.Header, files: map[string][]byte{}, types: map[string]string{}}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			switch ct {
			case "text/plain":
				p.text = string(body)
			case "text/html":
				p.html = string(body)
			default:
				t.Errorf("unexpected inline part %s", ct)
			}
		case *mail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				t.Errorf("attachment filename: %v", err)
			}
			ct, _, _ := h.ContentType()
			p.files[name], p.types[name] = body, ct
		}
	}
	return p
}

// verify checks that addr is a token address of kind at the company's
// primary domain and returns its token.
func (env *composeEnv) verify(t *testing.T, addr string, kind threading.Kind) threading.Token {
	t.Helper()
	local, dom, ok := threading.SplitAddress(addr)
	if !ok || dom != env.f.Company.Domains[0] {
		t.Fatalf("address %q: not at %s", addr, env.f.Company.Domains[0])
	}
	k, tok := threading.ParseAddress(local, "")
	if k != kind {
		t.Fatalf("address %q: kind %v, want %v", addr, k, kind)
	}
	tk, err := env.tokens.Verify(kind, env.f.Company.ID, tok)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return tk
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestComposeNotification composes a staff reply with attachments to both
// members of a team and checks every header, both parts, the attachments
// and the tokens.
func TestComposeNotification(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newComposeEnv(t, driver, "")
		f := env.f
		co := f.Company
		day := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
		first := env.deliver(t, storage.Delivery{
			NewThread: storage.Thread{CompanyID: co.ID, TeamID: f.Acme.ID, Subject: "Pricing question"},
			Message: storage.Message{CompanyID: co.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID,
				MessageID: "ann1@acme-acme.example", Subject: "Pricing question", FromAddr: f.Ann.Email,
				Date: day, Text: "What are your prices for 2027?\nThanks, Ann"},
		})
		pdf := randomBytes(t, 300_001)
		bin := randomBytes(t, 57)
		rows := []storage.OutboundEmail{
			{CompanyID: co.ID, MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: "n-ann@partners.acme.example"},
			{CompanyID: co.ID, MemberID: f.Bob.ID, Rcpt: f.Bob.Email, MessageID: "n-bob@partners.acme.example"},
		}
		reply := env.deliver(t, storage.Delivery{
			ThreadID: first.ThreadID,
			Message: storage.Message{CompanyID: co.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Manager.ID,
				MessageID: "staff1@partners.acme.example", InReplyTo: "ann1@acme-acme.example",
				Subject: "Re: Pricing question", Date: day.Add(time.Hour), Text: "Hi Ann,\r\n\r\nsee the <b>attached</b> list.",
				Attachments: []storage.Attachment{
					{Filename: "prices 2027.pdf", ContentType: "application/pdf", Size: int64(len(pdf)), BlobKey: env.putBlob(t, pdf)},
					{Filename: "Ünïcödé.bin", ContentType: "application/octet-stream", Size: int64(len(bin)), BlobKey: env.putBlob(t, bin)},
				}},
			MessageIDs: []string{rows[0].MessageID, rows[1].MessageID},
			Outbound:   rows,
		})
		for _, row := range rows {
			if row.ID == 0 || row.MessageRowID != reply.ID {
				t.Fatalf("queued row %+v: no id or message", row)
			}
			member := f.Ann
			if row.MemberID == f.Bob.ID {
				member = f.Bob
			}
			em, raw := env.compose(t, row)
			p := parse(t, raw)

			// Envelope and address headers.
			if em.To != member.Email {
				t.Errorf("envelope to = %q, want %q", em.To, member.Email)
			}
			bt := env.verify(t, em.From, threading.KindBounce)
			if bt.EmailID != row.ID || bt.MemberID != member.ID {
				t.Errorf("bounce token = %+v, want email %d member %d", bt, row.ID, member.ID)
			}
			from, err := p.h.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != "Pat Manager" || from[0].Address != co.FromAddr {
				t.Errorf("From = %v, %v; want Pat Manager <%s>", from, err, co.FromAddr)
			}
			to, err := p.h.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != member.Email || to[0].Name != member.Name {
				t.Errorf("To = %v, %v", to, err)
			}
			rt, err := p.h.AddressList("Reply-To")
			if err != nil || len(rt) != 1 {
				t.Fatalf("Reply-To = %v, %v", rt, err)
			}
			tk := env.verify(t, rt[0].Address, threading.KindReply)
			if tk.ThreadID != reply.ThreadID || tk.MemberID != member.ID {
				t.Errorf("reply token = %+v, want thread %d member %d", tk, reply.ThreadID, member.ID)
			}

			// Threading headers.
			if id, _ := p.h.MessageID(); id != row.MessageID {
				t.Errorf("Message-ID = %q, want %q", id, row.MessageID)
			}
			if ids, _ := p.h.MsgIDList("In-Reply-To"); len(ids) != 1 || ids[0] != "ann1@acme-acme.example" {
				t.Errorf("In-Reply-To = %q", ids)
			}
			if ids, _ := p.h.MsgIDList("References"); len(ids) != 1 || ids[0] != "ann1@acme-acme.example" {
				t.Errorf("References = %q", ids)
			}
			if s, _ := p.h.Subject(); s != "Re: Pricing question" {
				t.Errorf("Subject = %q", s)
			}
			if d, _ := p.h.Date(); !d.Equal(day.Add(time.Hour)) {
				t.Errorf("Date = %v", d)
			}
			if got := p.h.Get("Thread-Topic"); got != "Pricing question" {
				t.Errorf("Thread-Topic = %q", got)
			}
			idx, err := base64.StdEncoding.DecodeString(p.h.Get("Thread-Index"))
			if err != nil || len(idx) != 27 || idx[0] != 0x01 {
				t.Errorf("Thread-Index = %x, %v; want 22+5 bytes starting 01", idx, err)
			}

			// Unsubscribe (RFC 8058) and no bulk headers.
			lu := p.h.Get("List-Unsubscribe")
			parts := strings.Split(lu, ", ")
			if len(parts) != 2 || !strings.HasPrefix(parts[0], "<mailto:unsubscribe+") || !strings.HasPrefix(parts[1], "<https://pm.example/unsubscribe/") {
				t.Fatalf("List-Unsubscribe = %q", lu)
			}
			ut := env.verify(t, strings.Trim(strings.TrimPrefix(parts[0], "<mailto:"), "<>"), threading.KindUnsubscribe)
			if ut.MemberID != member.ID {
				t.Errorf("unsubscribe token member = %d, want %d", ut.MemberID, member.ID)
			}
			webTok := strings.TrimSuffix(strings.TrimPrefix(parts[1], "<https://pm.example/unsubscribe/"), ">")
			if wt, err := env.tokens.Verify(threading.KindUnsubscribe, co.ID, webTok); err != nil || wt.MemberID != member.ID {
				t.Errorf("one-click token %q = %+v, %v", webTok, wt, err)
			}
			if got := p.h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", got)
			}
			if got := p.h.Get("Precedence"); got != "" {
				t.Errorf("notification has Precedence: %s", got)
			}

			// Bodies.
			for _, want := range []string{"Pat Manager (Company acme) wrote:", "Hi Ann,\r\n\r\nsee the <b>attached</b> list.",
				"prices 2027.pdf (300.0 kB)", "Reply to this email", "Ann wrote:\r\n> What are your prices for 2027?\r\n> Thanks, Ann",
				"Acme Resellers", "https://pm.example/unsubscribe/" + webTok} {
				if !strings.Contains(p.text, want) {
					t.Errorf("text part lacks %q:\n%s", want, p.text)
				}
			}
			for _, want := range []string{"<strong>Pat Manager</strong>", "see the &lt;b&gt;attached&lt;/b&gt; list.", "<blockquote"} {
				if !strings.Contains(p.html, want) {
					t.Errorf("HTML part lacks %q:\n%s", want, p.html)
				}
			}

			// Attachments, byte-identical.
			for name, want := range map[string][]byte{"prices 2027.pdf": pdf, "Ünïcödé.bin": bin} {
				if got, ok := p.files[name]; !ok || sha256.Sum256(got) != sha256.Sum256(want) {
					t.Errorf("attachment %q: %d bytes (present %v), want %d identical", name, len(got), ok, len(want))
				}
			}
			if p.types["prices 2027.pdf"] != "application/pdf" {
				t.Errorf("attachment types = %v", p.types)
			}
			if len(p.files) != 2 {
				t.Errorf("attachments = %d, want 2", len(p.files))
			}
		}
	})
}

// TestComposeFirstMessage is a new conversation with one member: no
// In-Reply-To, no quote, a 22-byte Thread-Index.
func TestComposeFirstMessage(t *testing.T) {
	env := newComposeEnv(t, sqlstore.SQLite, "")
	f := env.f
	rows := []storage.OutboundEmail{{CompanyID: f.Company.ID, MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "first@x"}}
	env.deliver(t, storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Solo.ID, MemberID: f.Sue.ID, Subject: "Welcome"},
		Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Admin.ID,
			MessageID: "m1@x", Subject: "Welcome", Text: "Hello Sue"},
		Outbound: rows,
	})
	_, raw := env.compose(t, rows[0])
	p := parse(t, raw)
	if p.h.Has("In-Reply-To") || p.h.Has("References") {
		t.Errorf("first message has In-Reply-To %q / References %q", p.h.Get("In-Reply-To"), p.h.Get("References"))
	}
	if strings.Contains(p.text, "wrote:\r\n>") || strings.Contains(p.html, "<blockquote") {
		t.Errorf("first message quotes something:\n%s", p.text)
	}
	if idx, _ := base64.StdEncoding.DecodeString(p.h.Get("Thread-Index")); len(idx) != 22 {
		t.Errorf("Thread-Index of the first message: %d bytes, want 22", len(idx))
	}
	if d, _ := p.h.Date(); d.IsZero() {
		t.Errorf("no Date")
	}
	if !strings.Contains(p.text, "Ada Admin (Company acme) wrote:\r\n\r\nHello Sue") {
		t.Errorf("text:\n%s", p.text)
	}
}

// TestComposeCampaign checks campaign emails queued by the store, to a
// member of an enabled and of a disabled group.
func TestComposeCampaign(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newComposeEnv(t, driver, "")
		f := env.f
		ctx := context.Background()
		if err := env.st.SetGroupMessaging(ctx, f.Company.ID, f.Silver.ID, false, "Please write to support@acme.example"); err != nil {
			t.Fatal(err)
		}
		camp, err := env.st.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID, StaffID: f.Admin.ID,
			Subject: "Spring offer", Body: "Dear partners,\n\n20% off.", CreatedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)},
			[]storage.OutboundEmail{
				{MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: "c-ann@x"},
				{MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "c-sue@x"},
			})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := env.st.Queue(ctx, f.Company.ID, storage.QueueQueued, 10)
		if err != nil || len(rows) != 2 {
			t.Fatalf("Queue = %d rows, %v", len(rows), err)
		}
		for _, row := range rows {
			member, refused := f.Ann, false
			if row.MemberID == f.Sue.ID {
				member, refused = f.Sue, true
			}
			em, raw := env.compose(t, row)
			p := parse(t, raw)
			rt, err := p.h.AddressList("Reply-To")
			if err != nil || len(rt) != 1 {
				t.Fatalf("Reply-To = %v, %v", rt, err)
			}
			if tk := env.verify(t, rt[0].Address, threading.KindCampaign); tk.CampaignID != camp.ID || tk.MemberID != member.ID {
				t.Errorf("campaign token = %+v, want campaign %d member %d", tk, camp.ID, member.ID)
			}
			if bt := env.verify(t, em.From, threading.KindBounce); bt.EmailID != row.ID || bt.MemberID != member.ID {
				t.Errorf("bounce token = %+v", bt)
			}
			if em.To != member.Email {
				t.Errorf("envelope to = %q", em.To)
			}
			if id, _ := p.h.MessageID(); id != row.MessageID {
				t.Errorf("Message-ID = %q, want %q", id, row.MessageID)
			}
			if p.h.Get("Precedence") != "bulk" {
				t.Errorf("Precedence = %q, want bulk", p.h.Get("Precedence"))
			}
			if !p.h.Has("List-Unsubscribe") || p.h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("unsubscribe headers missing")
			}
			if s, _ := p.h.Subject(); s != "Spring offer" {
				t.Errorf("Subject = %q", s)
			}
			from, _ := p.h.AddressList("From")
			if len(from) != 1 || from[0].Name != "Ada Admin" || from[0].Address != f.Company.FromAddr {
				t.Errorf("From = %v", from)
			}
			if p.h.Has("Thread-Index") || p.h.Has("In-Reply-To") {
				t.Errorf("campaign has threading headers")
			}
			if !strings.Contains(p.text, "Dear partners,\r\n\r\n20% off.") || !strings.Contains(p.html, "<p>20% off.</p>") {
				t.Errorf("bodies:\n%s\n%s", p.text, p.html)
			}
			redirect := strings.Contains(p.text, "Replies to this email are not read. Please write to support@acme.example")
			if redirect != refused {
				t.Errorf("member %s: redirect text shown = %v, want %v:\n%s", member.Name, redirect, refused, p.text)
			}
			if len(p.files) != 0 || em.Close != nil {
				t.Errorf("campaign has attachments")
			}
		}
	})
}

// TestComposeHeaderInjection gives CR/LF and non-ASCII to every text that
// reaches a header: names, subject, filenames. The parsed headers must
// hold them as values (encoded), never as new fields.
func TestComposeHeaderInjection(t *testing.T) {
	env := newComposeEnv(t, sqlstore.SQLite, "")
	f := env.f
	ctx := context.Background()
	evil := "Mallory\r\nBcc: victim@evil.example\r\n\r\nbody"
	staff, err := env.st.CreateStaff(ctx, f.Company.ID, storage.Staff{Email: "m@acme.example", Name: evil, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	rows := []storage.OutboundEmail{{CompanyID: f.Company.ID, MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "inj@x"}}
	subject := "Hi\r\nX-Injected: yes\nSubject: other ünïcödé 😀"
	env.deliver(t, storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Solo.ID, MemberID: f.Sue.ID, Subject: subject},
		Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: staff.ID,
			MessageID: "inj-m@x", Subject: subject, Text: "x",
			Attachments: []storage.Attachment{{Filename: "a\r\nX-Injected: file\".txt", ContentType: "text/plain\r\nX-Injected: ct",
				Size: 3, BlobKey: env.putBlob(t, []byte("abc"))}}},
		Outbound: rows,
	})
	_, raw := env.compose(t, rows[0])
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(line, "Bcc") || strings.HasPrefix(line, "X-Injected") || strings.HasPrefix(line, "Subject: other") {
			t.Errorf("injected header line %q in:\n%s", line, head)
		}
		for _, r := range line {
			if r >= 0x80 {
				t.Errorf("raw non-ASCII in header line %q", line)
				break
			}
		}
	}
	if bytes.Contains(raw, []byte("\nX-Injected")) || bytes.Contains(raw, []byte("\nBcc:")) {
		t.Errorf("injected field in the email:\n%s", raw)
	}
	p := parse(t, raw)
	if s, _ := p.h.Subject(); s != "Hi X-Injected: yes Subject: other ünïcödé 😀" {
		t.Errorf("Subject = %q", s)
	}
	from, err := p.h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Mallory Bcc: victim@evil.example body" {
		t.Errorf("From = %v, %v", from, err)
	}
	if topic := p.h.Get("Thread-Topic"); strings.ContainsAny(topic, "\r\n") {
		t.Errorf("Thread-Topic = %q", topic)
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(p.h.Get("Thread-Topic")); err != nil || !strings.HasPrefix(dec, "Hi X-Injected") {
		t.Errorf("Thread-Topic decodes to %q, %v", dec, err)
	}
	if len(p.files) != 1 {
		t.Errorf("attachments: %v", p.types)
	}
	for name, data := range p.files {
		if strings.ContainsAny(name, "\r\n") || string(data) != "abc" {
			t.Errorf("attachment %q = %q", name, data)
		}
	}
}

func TestComposeErrors(t *testing.T) {
	env := newComposeEnv(t, sqlstore.SQLite, "")
	f := env.f
	for _, row := range []storage.OutboundEmail{
		{ID: 1, CompanyID: f.Company.ID, MemberID: f.Ann.ID, Rcpt: f.Ann.Email},                       // neither
		{ID: 2, CompanyID: f.Company.ID, MessageRowID: 999, MemberID: f.Ann.ID, Rcpt: f.Ann.Email},    // no message
		{ID: 3, CompanyID: f.Company.ID, CampaignID: 999, MemberID: f.Ann.ID, Rcpt: f.Ann.Email},      // no campaign
		{ID: 4, CompanyID: f.Company.ID + 99, CampaignID: 999, MemberID: f.Ann.ID, Rcpt: f.Ann.Email}, // no company
	} {
		_, err := env.c.Compose(context.Background(), row)
		if !errors.Is(err, ErrNotComposable) || !(errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrInvalid)) {
			t.Errorf("Compose(%+v) = %v, want ErrNotComposable wrapping ErrNotFound or ErrInvalid (permanent)", row, err)
		}
	}
}

// TestComposeReferencesPerMember checks that a notification names earlier
// staff messages by the Message-IDs of the emails that member received,
// so each member's mail client threads the conversation.
func TestComposeReferencesPerMember(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		env := newComposeEnv(t, driver, "")
		f := env.f
		co := f.Company.ID
		first := env.deliver(t, storage.Delivery{
			NewThread: storage.Thread{CompanyID: co, TeamID: f.Acme.ID, Subject: "Q"},
			Message: storage.Message{CompanyID: co, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID,
				MessageID: "a1@acme", Subject: "Q", Text: "question"},
		})
		staff := func(id string, inReplyTo string) []storage.OutboundEmail {
			rows := []storage.OutboundEmail{
				{CompanyID: co, MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: id + "-ann@x"},
				{CompanyID: co, MemberID: f.Bob.ID, Rcpt: f.Bob.Email, MessageID: id + "-bob@x"},
			}
			env.deliver(t, storage.Delivery{ThreadID: first.ThreadID,
				Message: storage.Message{CompanyID: co, Direction: storage.DirectionOut, AuthorStaffID: f.Manager.ID,
					MessageID: id + "@staff", InReplyTo: inReplyTo, Subject: "Re: Q", Text: "answer " + id},
				MessageIDs: []string{rows[0].MessageID, rows[1].MessageID}, Outbound: rows})
			return rows
		}
		staff("s1", "a1@acme")
		rows := staff("s2", "s1@staff") // the staff client replied to its own sent message
		for _, row := range rows {
			who := "ann"
			if row.MemberID == f.Bob.ID {
				who = "bob"
			}
			_, raw := env.compose(t, row)
			p := parse(t, raw)
			refs, _ := p.h.MsgIDList("References")
			irt, _ := p.h.MsgIDList("In-Reply-To")
			wantRefs := []string{"a1@acme", "s1-" + who + "@x"}
			if strings.Join(refs, " ") != strings.Join(wantRefs, " ") || len(irt) != 1 || irt[0] != "s1-"+who+"@x" {
				t.Errorf("email to %s: References %q, In-Reply-To %q; want %q, [s1-%s@x]", who, refs, irt, wantRefs, who)
			}
			if !strings.Contains(p.text, "Pat Manager wrote:\r\n> answer s1") {
				t.Errorf("email to %s does not quote s1:\n%s", who, p.text)
			}
		}
	})
}

func TestReferences(t *testing.T) {
	var long []ref
	for i := range 30 {
		long = append(long, ref{int64(i + 1), fmt.Sprintf("m%d@x", i+1)})
	}
	tests := []struct {
		earlier       []ref
		inReplyTo     string
		seen          map[int64]string
		want          string // References, joined
		wantInReplyTo string
	}{
		{nil, "", nil, "", ""},
		{nil, "gone@x", nil, "", ""},
		{[]ref{{1, "a@x"}, {2, "s@x"}}, "", map[int64]string{2: "e@x"}, "a@x e@x", "e@x"},
		{[]ref{{1, "a@x"}, {2, "s@x"}}, "a@x", map[int64]string{2: "e@x"}, "a@x e@x", "a@x"},
		{[]ref{{1, "a@x"}, {2, "s@x"}}, "s@x", map[int64]string{2: "e@x"}, "a@x e@x", "e@x"},
		{[]ref{{1, "a@x"}}, "elsewhere@x", nil, "a@x", "elsewhere@x"},
		{long, "", nil, "m1@x " + func() string {
			var s []string
			for i := 12; i <= 30; i++ {
				s = append(s, fmt.Sprintf("m%d@x", i))
			}
			return strings.Join(s, " ")
		}(), "m30@x"},
	}
	for i, tc := range tests {
		refs, irt := references(tc.earlier, tc.inReplyTo, tc.seen)
		if strings.Join(refs, " ") != tc.want || irt != tc.wantInReplyTo {
			t.Errorf("%d: references = %q, %q; want %q, %q", i, refs, irt, tc.want, tc.wantInReplyTo)
		}
	}
}

// TestComposeDKIM signs a composed email with attachments in two streaming
// passes and verifies the signature.
func TestComposeDKIM(t *testing.T) {
	env := newComposeEnv(t, sqlstore.SQLite, "")
	f := env.f
	rows := []storage.OutboundEmail{{CompanyID: f.Company.ID, MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "dkim@x"}}
	data := randomBytes(t, 200_000)
	env.deliver(t, storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Solo.ID, Subject: "Signed"},
		Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Admin.ID,
			MessageID: "dkim-m@x", Subject: "Signed", Text: "Hello",
			Attachments: []storage.Attachment{{Filename: "a.bin", ContentType: "application/octet-stream", Size: int64(len(data)), BlobKey: env.putBlob(t, data)}}},
		Outbound: rows,
	})
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	em, err := env.c.Compose(context.Background(), rows[0])
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	var buf bytes.Buffer
	n, err := em.WriteSignedTo(&buf, &dkim.SignOptions{Domain: "acme.example", Selector: "pm1", Signer: priv,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed})
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteSignedTo = %d, %v; wrote %d", n, err, buf.Len())
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("DKIM-Signature: ")) {
		t.Fatalf("no DKIM-Signature first:\n%.300s", buf.Bytes())
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(buf.Bytes()), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain != "pm1._domainkey.acme.example" {
				return nil, fmt.Errorf("unexpected lookup %s", domain)
			}
			return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
		},
	})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
		t.Fatalf("verify = %+v, %v", verifs, err)
	}
	if p := parse(t, buf.Bytes()); !bytes.Equal(p.files["a.bin"], data) {
		t.Errorf("attachment differs after signing")
	}
}

// TestComposeNonASCIINames checks that names with non-ASCII letters,
// quotes and commas come back exactly from the From and To headers, which
// stay ASCII on the wire.
func TestComposeNonASCIINames(t *testing.T) {
	env := newComposeEnv(t, sqlstore.SQLite, "")
	f := env.f
	ctx := context.Background()
	staffName, memberName := `Zoë Ünal, "PM"`, `Søren "Sue" Öberg, Jr.`
	longName := strings.Repeat("Ä😀", 80) + ".pdf"
	staff, err := env.st.CreateStaff(ctx, f.Company.ID, storage.Staff{Email: "zoe@acme.example", Name: staffName, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.ImportPartners(ctx, f.Company.ID, []storage.PartnerRow{{Line: 2, Team: f.Solo.Name, Group: "Silver",
		Status: "approved", MemberEmail: f.Sue.Email, MemberName: memberName, EmailNotifications: true}}); err != nil {
		t.Fatal(err)
	}
	rows := []storage.OutboundEmail{{CompanyID: f.Company.ID, MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "names@x"}}
	env.deliver(t, storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Solo.ID, MemberID: f.Sue.ID, Subject: "Grüße"},
		Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: staff.ID,
			MessageID: "names-m@x", Subject: "Grüße " + strings.Repeat("😀", 300), Text: "Hallo",
			Attachments: []storage.Attachment{{Filename: longName, ContentType: "application/pdf", Size: 1, BlobKey: env.putBlob(t, []byte("x"))}}},
		Outbound: rows,
	})
	_, raw := env.compose(t, rows[0])
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d octets long (RFC 5322 allows 998): %.80s…", i+1, len(line), line)
		}
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for i, b := range head {
		if b >= 0x80 {
			t.Fatalf("raw non-ASCII at %d of the header:\n%s", i, head)
		}
	}
	p := parse(t, raw)
	from, err := p.h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != staffName {
		t.Errorf("From = %v, %v; want name %q", from, err, staffName)
	}
	to, err := p.h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != memberName || to[0].Address != f.Sue.Email {
		t.Errorf("To = %v, %v; want name %q", to, err, memberName)
	}
	if s, _ := p.h.Subject(); s != "Grüße "+strings.Repeat("😀", 300) {
		t.Errorf("Subject = %q", s)
	}
	if _, ok := p.files[attachmentName(longName)]; !ok || len(p.files) != 1 {
		t.Errorf("attachments %q, want one named %q", p.types, attachmentName(longName))
	}
	if !strings.Contains(p.text, staffName+" (Company acme) wrote:") || !strings.Contains(p.html, "Zoë Ünal, &#34;PM&#34;") {
		t.Errorf("bodies lack the author's name:\n%s\n%s", p.text, p.html)
	}
}

// TestComposeConcurrent composes notifications and campaign emails from
// many goroutines at once through one composer (shared caches and
// templates); run it with -race.
func TestComposeConcurrent(t *testing.T) {
	env := newComposeEnv(t, sqlstore.SQLite, "")
	f := env.f
	ctx := context.Background()
	notify := []storage.OutboundEmail{
		{CompanyID: f.Company.ID, MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: "cc-ann@x"},
		{CompanyID: f.Company.ID, MemberID: f.Bob.ID, Rcpt: f.Bob.Email, MessageID: "cc-bob@x"},
	}
	env.deliver(t, storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Acme.ID, Subject: "All"},
		Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Admin.ID,
			MessageID: "cc-m@x", Subject: "All", Text: "to the team",
			Attachments: []storage.Attachment{{Filename: "a.txt", ContentType: "text/plain", Size: 3, BlobKey: env.putBlob(t, []byte("abc"))}}},
		Outbound: notify,
	})
	if _, err := env.st.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID, StaffID: f.Admin.ID, Subject: "News", Body: "b"},
		[]storage.OutboundEmail{{MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "cc-sue@x"}}); err != nil {
		t.Fatal(err)
	}
	rows, err := env.st.Queue(ctx, f.Company.ID, storage.QueueQueued, 10)
	if err != nil || len(rows) != 3 {
		t.Fatalf("Queue = %d rows, %v", len(rows), err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := rows[i%len(rows)]
			em, err := env.c.Compose(ctx, row)
			if err != nil {
				t.Errorf("Compose: %v", err)
				return
			}
			var buf bytes.Buffer
			if _, err := em.WriteTo(&buf); err != nil {
				t.Errorf("WriteTo: %v", err)
			}
			if em.Close != nil {
				em.Close()
			}
			mr, err := mail.CreateReader(&buf)
			if err != nil {
				t.Errorf("parse: %v", err)
				return
			}
			if id, _ := mr.Header.MessageID(); id != row.MessageID {
				t.Errorf("Message-ID = %q, want %q", id, row.MessageID)
			}
		}()
	}
	wg.Wait()
}

// TestComposeTemplateOverride checks that a company's override is used,
// and that SetTemplates swaps templates for the next emails.
func TestComposeTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "acme"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acme", "campaign.txt"), []byte("ACME CAMPAIGN: {{.Text}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := newComposeEnv(t, sqlstore.SQLite, dir)
	f := env.f
	ctx := context.Background()
	if _, err := env.st.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID, StaffID: f.Admin.ID, Subject: "News", Body: "big news"},
		[]storage.OutboundEmail{{MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "ov@x"}}); err != nil {
		t.Fatal(err)
	}
	rows, err := env.st.Queue(ctx, f.Company.ID, storage.QueueQueued, 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("Queue = %d rows, %v", len(rows), err)
	}
	_, raw := env.compose(t, rows[0])
	if p := parse(t, raw); p.text != "ACME CAMPAIGN: big news\r\n" || !strings.Contains(p.html, "<p>big news</p>") {
		t.Errorf("with the override: text %q, HTML %q", p.text, p.html)
	}
	defaults, err := templates.New("")
	if err != nil {
		t.Fatal(err)
	}
	env.c.SetTemplates(defaults)
	_, raw = env.compose(t, rows[0])
	if p := parse(t, raw); !strings.HasPrefix(p.text, "big news\r\n\r\n-- \r\n") {
		t.Errorf("after SetTemplates(defaults): text %q", p.text)
	}
}
