package smtpd

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	imagepng "image/png"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

func TestSubmissionReplyInThread(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newSubEnv(t, driver, subOpts{})
		ctx := context.Background()
		in := e.partnerThread(t, e.f.Acme, e.f.Ann, "q1@acme-partner.test")
		to := e.threadAddr(t, e.f, in.ThreadID)
		c := e.login(t, e.f.Manager)
		msg := subMessage(e.f.Manager.Email, to, "Re Question", "Here is the answer.\r\n\r\nOn Monday Ann wrote:\r\n> Hello?",
			"In-Reply-To: <q1@acme-partner.test>")
		if cmd, err := subSend(c, e.f.Manager.Email, []string{to}, msg); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		ms, err := e.store.ThreadMessages(ctx, e.f.Company.ID, in.ThreadID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 {
			t.Fatalf("thread has %d messages, want 2", len(ms))
		}
		out := ms[1]
		if out.Direction != storage.DirectionOut || out.AuthorStaffID != e.f.Manager.ID {
			t.Errorf("staff message: direction %q author %d, want out by %d", out.Direction, out.AuthorStaffID, e.f.Manager.ID)
		}
		if out.MessageID != "re-question@client.test" || out.InReplyTo != "q1@acme-partner.test" || out.Subject != "Re Question" {
			t.Errorf("staff message ids/subject = %q %q %q", out.MessageID, out.InReplyTo, out.Subject)
		}
		if out.Text != "Here is the answer." {
			t.Errorf("staff message text = %q, want the reply without the quote", out.Text)
		}
		if !out.Seen {
			t.Errorf("staff message not born read")
		}
		if !ms[0].Answered {
			t.Errorf("partner message not \\Answered after the staff reply")
		}
		// Both Acme members have notifications on: one email each.
		q := e.queued(t, e.f.Company.ID)
		if len(q) != 2 || q[e.f.Ann.Email].MessageRowID != out.ID || q[e.f.Bob.Email].MessageRowID != out.ID {
			t.Errorf("queued = %+v, want one email to each of Ann and Bob for message %d", q, out.ID)
		}
		// The client retries (it missed our 250): nothing is stored or
		// queued twice.
		c = e.login(t, e.f.Manager)
		if cmd, err := subSend(c, e.f.Manager.Email, []string{to}, msg); err != nil {
			t.Fatalf("retry: %s: %v", cmd, err)
		}
		if ms, _ := e.store.ThreadMessages(ctx, e.f.Company.ID, in.ThreadID); len(ms) != 2 {
			t.Errorf("after a retry the thread has %d messages, want 2", len(ms))
		}
		if q := e.queued(t, e.f.Company.ID); len(q) != 2 {
			t.Errorf("after a retry %d emails are queued, want 2", len(q))
		}
		// The raw message is stored byte-exact.
		b, err := e.store.Blobs().Open(ctx, out.RawKey)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		raw := make([]byte, b.Size())
		if _, err := b.ReadAt(raw, 0); err != nil {
			t.Fatal(err)
		}
		if string(raw) != msg {
			t.Errorf("raw = %q, want %q", raw, msg)
		}
	})
}

func TestSubmissionNewConversations(t *testing.T) {
	e := newSubEnv(t, sqlstore.SQLite, subOpts{})
	c := e.login(t, e.f.Admin)
	team := "team+" + e.f.Acme.Slug + "@" + e.f.Company.Domains[0]
	// A new conversation with a whole team, written to the team address
	// with a differently cased prefix and domain.
	up := "TEAM+" + e.f.Acme.Slug + "@" + strings.ToUpper(e.f.Company.Domains[0])
	if cmd, err := subSend(c, e.f.Admin.Email, []string{up}, subMessage(e.f.Admin.Email, team, "Team news", "Hello team")); err != nil {
		t.Fatalf("team: %s: %v", cmd, err)
	}
	// A new conversation with one member, by the member's own address,
	// with a picture attached.
	var png bytes.Buffer
	if err := imagepng.Encode(&png, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	sue := "From: " + e.f.Admin.Email + "\r\nTo: " + e.f.Sue.Email + "\r\nSubject: For Sue\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello Sue\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"logo.png\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(png.Bytes()) + "\r\n--b--\r\n"
	if cmd, err := subSend(c, e.f.Admin.Email, []string{e.f.Sue.Email}, sue); err != nil {
		t.Fatalf("member: %s: %v", cmd, err)
	}
	// Eve has notifications off: the message is recorded, no email.
	if cmd, err := subSend(c, e.f.Admin.Email, []string{e.f.Eve.Email}, subMessage(e.f.Admin.Email, e.f.Eve.Email, "For Eve", "Hello Eve")); err != nil {
		t.Fatalf("member without notifications: %s: %v", cmd, err)
	}
	got := map[string]storage.Thread{}
	for th, ms := range e.threadsOf(t, e.f.Company.ID) {
		if len(ms) != 1 || ms[0].Direction != storage.DirectionOut {
			t.Errorf("thread %q: %d messages, want one staff message", th.Subject, len(ms))
		}
		got[th.Subject] = th
		if th.Subject == "For Sue" {
			if a := ms[0].Attachments; len(a) != 1 || a[0].Filename != "logo.png" || a[0].ContentType != "image/png" || a[0].Size != int64(png.Len()) {
				t.Errorf("attachments = %+v, want logo.png, image/png, %d bytes", a, png.Len())
			}
			if ms[0].Text != "Hello Sue" {
				t.Errorf("text = %q", ms[0].Text)
			}
		}
	}
	if th, ok := got["Team news"]; !ok || th.TeamID != e.f.Acme.ID || th.MemberID != 0 {
		t.Errorf("team thread = %+v (found %v), want team %d, no member", th, ok, e.f.Acme.ID)
	}
	if th, ok := got["For Sue"]; !ok || th.TeamID != e.f.Solo.ID || th.MemberID != e.f.Sue.ID {
		t.Errorf("member thread = %+v (found %v), want team %d member %d", th, ok, e.f.Solo.ID, e.f.Sue.ID)
	}
	if th, ok := got["For Eve"]; !ok || th.MemberID != e.f.Eve.ID {
		t.Errorf("member thread = %+v (found %v), want member %d", th, ok, e.f.Eve.ID)
	}
	if len(got) != 3 {
		t.Errorf("%d threads, want 3", len(got))
	}
	q := e.queued(t, e.f.Company.ID)
	for _, m := range []storage.Member{e.f.Ann, e.f.Bob, e.f.Sue} {
		if _, ok := q[m.Email]; !ok {
			t.Errorf("no email queued for %s", m.Email)
		}
	}
	if len(q) != 3 {
		t.Errorf("%d emails queued, want 3", len(q))
	}
}

// A message to several audiences is one post per audience; two addresses
// of the same audience are one post; refused recipients do not stop the
// others.
func TestSubmissionMixedRecipients(t *testing.T) {
	e := newSubEnv(t, sqlstore.SQLite, subOpts{})
	in := e.partnerThread(t, e.f.Acme, e.f.Bob, "q2@acme-partner.test")
	thread := e.threadAddr(t, e.f, in.ThreadID)
	team := "team+" + e.f.Solo.Slug + "@" + e.f.Company.Domains[0]
	c := e.login(t, e.f.Admin)
	rcpts := []string{thread, "outsider@example.org", team, strings.ToUpper(thread), e.f.Ann.Email}
	cmd, err := subSend(c, e.f.Admin.Email, rcpts, subMessage(e.f.Admin.Email, thread, "Several", "To all of you"))
	if cmd != "RCPT" {
		t.Fatalf("send: %s: %v, want only the outsider refused", cmd, err)
	}
	subWantError(t, "RCPT outsider", err, 550, "not a partner of this program")
	n := 0
	for th, ms := range e.threadsOf(t, e.f.Company.ID) {
		for _, m := range ms {
			if m.Direction == storage.DirectionOut {
				n++
				if m.MessageID != "several@client.test" {
					t.Errorf("thread %d: staff message %q", th.ID, m.MessageID)
				}
			}
		}
	}
	if n != 3 { // the thread, the Solo team, Ann alone
		t.Errorf("%d staff messages, want 3 (one per audience)", n)
	}
}

// The relay attempts of issue 6, each refused with its reason.
func TestSubmissionRefusals(t *testing.T) {
	e := newSubEnv(t, sqlstore.SQLite, subOpts{})
	domain := e.f.Company.Domains[0]
	team := "team+" + e.f.Acme.Slug + "@" + domain

	t.Run("unauthenticated", func(t *testing.T) {
		c := e.dial(t, true)
		err := c.Mail(e.f.Admin.Email, nil)
		subWantError(t, "MAIL without AUTH", err, 530, "authentication required")
	})
	t.Run("wrong password", func(t *testing.T) {
		c := e.dial(t, true)
		err := c.Auth(sasl.NewPlainClient("", e.f.Admin.Email, "not the password"))
		subWantError(t, "AUTH", err, 535, "")
	})
	t.Run("mail from someone else", func(t *testing.T) {
		c := e.login(t, e.f.Manager)
		err := c.Mail(e.f.Admin.Email, nil)
		subWantError(t, "MAIL FROM", err, 550, "must be your own address")
		err = c.Mail("", nil)
		subWantError(t, "MAIL FROM:<>", err, 550, "must be your own address")
	})
	t.Run("outside address", func(t *testing.T) {
		c := e.login(t, e.f.Manager)
		_, err := subSend(c, e.f.Manager.Email, []string{"victim@example.org"}, "")
		subWantError(t, "RCPT", err, 550, "not a partner of this program")
	})
	t.Run("another company's team", func(t *testing.T) {
		c := e.login(t, e.f.Manager)
		rival := "team+" + e.other.Acme.Slug + "@" + e.other.Company.Domains[0]
		_, err := subSend(c, e.f.Manager.Email, []string{rival}, "")
		subWantError(t, "RCPT", err, 550, "not a partner of this program")
		// Nor its members, nor a thread token of it moved to our domain.
		_, err = subSend(c, e.f.Manager.Email, []string{e.other.Ann.Email}, "")
		subWantError(t, "RCPT other member", err, 550, "not a partner")
		th := e.threadAddr(t, e.other, 1)
		forged := th[:strings.LastIndexByte(th, '@')+1] + domain
		_, err = subSend(c, e.f.Manager.Email, []string{forged}, "")
		subWantError(t, "RCPT other token", err, 550, "unknown or damaged")
	})
	t.Run("unknown gateway addresses", func(t *testing.T) {
		c := e.login(t, e.f.Manager)
		for rcpt, text := range map[string]string{
			"team+nosuchteam@" + domain:         "no partner team",
			"thread+aaaaaaaaaaaaaaaa@" + domain: "unknown or damaged",
			"partners@" + domain:                "where partners write",
			"someone@" + domain:                 "no such gateway address",
		} {
			_, err := subSend(c, e.f.Manager.Email, []string{rcpt}, "")
			subWantError(t, rcpt, err, 550, text)
		}
	})
	t.Run("disabled group", func(t *testing.T) {
		ctx := context.Background()
		text := "Bitte schreiben Sie an support@acme.example oder öffnen Sie https://acme.example/help — danke!"
		if err := e.store.SetGroupMessaging(ctx, e.f.Company.ID, e.f.Silver.ID, false, text); err != nil {
			t.Fatal(err)
		}
		defer e.store.SetGroupMessaging(ctx, e.f.Company.ID, e.f.Silver.ID, true, "")
		c := e.login(t, e.f.Manager)
		_, err := subSend(c, e.f.Manager.Email, []string{e.f.Sue.Email}, "")
		subWantError(t, "RCPT member of disabled group", err, 550, "messaging is disabled for partner group \"Silver\"")
		subWantError(t, "RCPT member of disabled group", err, 550, "support@acme.example oder offnen Sie https://acme.example/help")
		_, err = subSend(c, e.f.Manager.Email, []string{"team+" + e.f.Solo.Slug + "@" + domain}, "")
		subWantError(t, "RCPT team of disabled group", err, 550, "messaging is disabled")
	})
	t.Run("group disabled between RCPT and DATA", func(t *testing.T) {
		ctx := context.Background()
		c := e.login(t, e.f.Manager)
		if err := c.Mail(e.f.Manager.Email, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(team, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetGroupMessaging(ctx, e.f.Company.ID, e.f.Gold.ID, false, "Gold is closed; see https://acme.example/gold"); err != nil {
			t.Fatal(err)
		}
		defer e.store.SetGroupMessaging(ctx, e.f.Company.ID, e.f.Gold.ID, true, "")
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(subMessage(e.f.Manager.Email, team, "Late", "x")))
		err = w.Close()
		subWantError(t, "DATA", err, 550, "Gold is closed; see https://acme.example/gold")
	})
	t.Run("from header", func(t *testing.T) {
		c := e.login(t, e.f.Manager)
		_, err := subSend(c, e.f.Manager.Email, []string{team}, subMessage(e.f.Admin.Email, team, "Forged", "x"))
		subWantError(t, "DATA", err, 550, "from header must be your own address")
	})
	t.Run("attachment policy", func(t *testing.T) {
		c := e.login(t, e.f.Manager)
		exe := "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + strings.Repeat("\x00", 48) + "PE\x00\x00"
		msg := "From: " + e.f.Manager.Email + "\r\nTo: " + team + "\r\nSubject: tool\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n" +
			"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"setup.exe\"\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(exe)) + "\r\n--b--\r\n"
		_, err := subSend(c, e.f.Manager.Email, []string{team}, msg)
		subWantError(t, "DATA with .exe", err, 554, "setup.exe")
	})
	// None of it was recorded.
	for th, ms := range e.threadsOf(t, e.f.Company.ID) {
		t.Errorf("thread %q with %d messages recorded after refusals", th.Subject, len(ms))
	}
}

// AUTH needs TLS unless the listener is in dev mode and the client is on
// loopback.
func TestSubmissionAuthNeedsTLS(t *testing.T) {
	secure := newSubEnv(t, sqlstore.SQLite, subOpts{secure: true})
	c := secure.dial(t, false)
	if ok, _ := c.Extension("AUTH"); ok {
		t.Errorf("AUTH advertised over plain TCP")
	}
	err := c.Auth(sasl.NewPlainClient("", secure.f.Admin.Email, subPassword))
	subWantError(t, "AUTH over plain TCP", err, 523, "TLS is required")
	// After STARTTLS it works.
	secure.login(t, secure.f.Admin)

	dev := newSubEnv(t, sqlstore.SQLite, subOpts{})
	c = dev.dial(t, false)
	if err := c.Auth(sasl.NewPlainClient("", dev.f.Admin.Email, subPassword)); err != nil {
		t.Errorf("dev mode AUTH over loopback: %v", err)
	}
	if !subAuthAllowed(false, true, subTCPAddr("127.0.0.1:5000")) || subAuthAllowed(false, true, subTCPAddr("192.0.2.1:5000")) ||
		!subAuthAllowed(true, false, subTCPAddr("192.0.2.1:5000")) || !subAuthAllowed(false, true, subTCPAddr("[::1]:5000")) {
		t.Errorf("subAuthAllowed: dev mode must allow plain AUTH from loopback only")
	}
}

func TestSubmissionImplicitTLS(t *testing.T) {
	e := newSubEnv(t, sqlstore.SQLite, subOpts{secure: true, implicitTLS: true})
	c := e.dial(t, false)
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS on the implicit TLS listener")
	}
	if err := c.Auth(sasl.NewPlainClient("", e.f.Admin.Email, subPassword)); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	team := "team+" + e.f.Acme.Slug + "@" + e.f.Company.Domains[0]
	if cmd, err := subSend(c, e.f.Admin.Email, []string{team}, subMessage(e.f.Admin.Email, team, "Over TLS", "hi")); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
}

// Failed logins are limited per account (and per IP): past the limit even
// the right password is refused for a while.
func TestSubmissionLoginLimit(t *testing.T) {
	e := newSubEnv(t, sqlstore.SQLite, subOpts{limiter: &auth.Limiter{Max: 3}})
	for i := range 3 {
		c := e.dial(t, true)
		err := c.Auth(sasl.NewPlainClient("", e.f.Manager.Email, "wrong password"))
		subWantError(t, "bad AUTH", err, 535, "")
		_ = i
	}
	c := e.dial(t, true)
	err := c.Auth(sasl.NewPlainClient("", e.f.Manager.Email, subPassword))
	subWantError(t, "AUTH past the limit", err, 454, "too many failed logins")
	// Another account from the same IP still logs in (the per-IP limit is
	// five times higher).
	e.login(t, e.f.Admin)
}

// A client that sends no Message-ID or Date gets them added (RFC 6409
// section 8), so its later APPEND to Sent can be matched.
func TestSubmissionAddsMessageID(t *testing.T) {
	e := newSubEnv(t, sqlstore.SQLite, subOpts{})
	ctx := context.Background()
	c := e.login(t, e.f.Admin)
	team := "team+" + e.f.Acme.Slug + "@" + e.f.Company.Domains[0]
	msg := "From: " + e.f.Admin.Email + "\r\nTo: " + team + "\r\nSubject: bare\r\n\r\nno ids\r\n"
	if cmd, err := subSend(c, e.f.Admin.Email, []string{team}, msg); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	for _, ms := range e.threadsOf(t, e.f.Company.ID) {
		m := ms[0]
		if !strings.HasSuffix(m.MessageID, "@"+e.f.Company.Domains[0]) {
			t.Errorf("Message-ID = %q, want one minted at the company domain", m.MessageID)
		}
		b, err := e.store.Blobs().Open(ctx, m.RawKey)
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, b.Size())
		b.ReadAt(raw, 0)
		b.Close()
		if want := "Message-ID: <" + m.MessageID + ">\r\nDate: "; !strings.HasPrefix(string(raw), want) || !strings.HasSuffix(string(raw), msg) {
			t.Errorf("raw = %q, want %q… then the message", raw, want)
		}
	}
}

func subTCPAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// Shutdown closes idle sessions at once and lets a message being received
// finish: the client gets its 250.
func TestSubmissionShutdown(t *testing.T) {
	e := newSubEnv(t, sqlstore.SQLite, subOpts{})
	idle := e.login(t, e.f.Admin)
	busy := e.login(t, e.f.Manager)
	team := "team+" + e.f.Acme.Slug + "@" + e.f.Company.Domains[0]
	if err := busy.Mail(e.f.Manager.Email, nil); err != nil {
		t.Fatal(err)
	}
	if err := busy.Rcpt(team, nil); err != nil {
		t.Fatal(err)
	}
	w, err := busy.Data()
	if err != nil {
		t.Fatal(err)
	}
	msg := subMessage(e.f.Manager.Email, team, "During shutdown", "still delivered")
	io.WriteString(w, msg[:len(msg)/2])
	// Shutdown begins once the server is inside DATA for busy.
	for {
		e.srv.mu.Lock()
		inData := false
		for _, b := range e.srv.sessions {
			inData = inData || b
		}
		e.srv.mu.Unlock()
		if inData {
			break
		}
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stopped <- e.stop(ctx)
	}()
	if err := idle.Noop(); err == nil {
		// The idle session may still answer while Shutdown starts;
		// the next command must fail.
		for idle.Noop() == nil {
			time.Sleep(time.Millisecond)
		}
	}
	io.WriteString(w, msg[len(msg)/2:])
	if err := w.Close(); err != nil {
		t.Fatalf("DATA during shutdown: %v", err)
	}
	busy.Quit()
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown = %v, want nil (no session left behind)", err)
	}
	if len(e.threadsOf(t, e.f.Company.ID)) != 1 {
		t.Errorf("the message received during shutdown was not recorded")
	}
}
