package smtpd

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/threading"
)

// pdfBytes is a PDF the sniffer recognises, n bytes long.
func pdfBytes(n int) []byte {
	b := make([]byte, n)
	copy(b, "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	for i := 16; i < n; i++ {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}

// withFiles builds a multipart/mixed body: the text part, then one
// base64 part per file (name, content type, data).
func withFiles(text string, files ...any) (contentType, body string) {
	var b strings.Builder
	b.WriteString("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(text, "\n", "\r\n") + "\r\n")
	for i := 0; i < len(files); i += 3 {
		name, ctype, data := files[i].(string), files[i+1].(string), files[i+2].([]byte)
		fmt.Fprintf(&b, "--b1\r\nContent-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\n"+
			"Content-Transfer-Encoding: base64\r\n\r\n%s", ctype, name, name, b64(data))
	}
	b.WriteString("--b1--\r\n")
	return "Content-Type: multipart/mixed; boundary=\"b1\"", b.String()
}

const annReply = "Friday works for us, contract attached.\n\nAnn\n\n" +
	"On Tue, Nov 24, 2026 at 10:15 AM Pat Manager <pm@acme.example> wrote:\n> Does Friday work?\n> Pat\n"

func TestPartnerReplyWithPDF(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, staffID := e.staffThread(e.f.Acme, wholeTeam)
		wake, stop := e.hub.Subscribe(notify.Mail, e.f.Company.ID)
		defer stop()
		pdf := pdfBytes(200_000)
		ct, body := withFiles(annReply, "contract.pdf", "application/octet-stream", pdf)
		msg := mail("Ann <"+e.f.Ann.Email+">", "Acme <"+e.replyAddr(th, e.f.Ann)+">", "Re: Q4 pricing", body,
			"MIME-Version: 1.0", ct, "Message-ID: <ann-1@acme-acme.example>", "In-Reply-To: <"+staffID+">")
		if err := e.send(e.f.Ann.Email, []string{e.replyAddr(th, e.f.Ann)}, msg); err != nil {
			t.Fatalf("send = %v", err)
		}
		ms := e.messages(th.ID)
		if len(ms) != 2 {
			t.Fatalf("thread has %d messages, want 2", len(ms))
		}
		m := ms[1]
		if m.Text != "Friday works for us, contract attached.\n\nAnn" {
			t.Errorf("Text = %q", m.Text)
		}
		if m.AuthorMemberID != e.f.Ann.ID || m.Direction != storage.DirectionIn || m.MessageID != "ann-1@acme-acme.example" ||
			m.InReplyTo != staffID || m.Subject != "Re: Q4 pricing" || m.AutoReply || m.Size != int64(len(msg)) {
			t.Errorf("message = %+v", m)
		}
		if len(m.Attachments) != 1 {
			t.Fatalf("Attachments = %+v", m.Attachments)
		}
		a := m.Attachments[0]
		if a.Filename != "contract.pdf" || a.ContentType != "application/pdf" || a.Size != int64(len(pdf)) {
			t.Errorf("attachment = %+v", a)
		}
		if got := e.readBlob(a.BlobKey); !bytes.Equal(got, pdf) {
			t.Errorf("attachment blob differs from the PDF sent (%d bytes)", len(got))
		}
		if got := e.readBlob(m.RawKey); string(got) != msg {
			t.Errorf("raw message not stored byte-exact (%d bytes, want %d)", len(got), len(msg))
		}
		select {
		case <-wake:
		default:
			t.Error("IMAP readers were not woken")
		}
		if !strings.Contains(e.logs.String(), "outcome=accepted") {
			t.Errorf("no transaction log line:\n%s", e.logs.String())
		}
	})
}

func (e *testEnv) readBlob(key string) []byte {
	e.t.Helper()
	b, err := e.store.Blobs().Open(context.Background(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

// TestSenderCheck: the From must be the token's member or, for a team
// conversation, a member of that team.
func TestSenderCheck(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		team, _ := e.staffThread(e.f.Acme, wholeTeam)
		annOnly, _ := e.staffThread(e.f.Acme, e.f.Ann)
		for _, tc := range []struct {
			name, from, to string
			ok             bool
		}{
			{"token member, team thread", e.f.Ann.Email, e.replyAddr(team, e.f.Ann), true},
			{"teammate with Ann's token, team thread", e.f.Bob.Email, e.replyAddr(team, e.f.Ann), true},
			{"token member, member thread", e.f.Ann.Email, e.replyAddr(annOnly, e.f.Ann), true},
			{"teammate, member thread", e.f.Bob.Email, e.replyAddr(annOnly, e.f.Ann), false},
			{"member of another team", e.f.Sue.Email, e.replyAddr(team, e.f.Ann), false},
			{"non-member", "mallory@evil.example", e.replyAddr(team, e.f.Ann), false},
		} {
			before := e.snapshot()
			// The envelope is the real member's; only From varies: the
			// check is on the From the partner's staff sees.
			err := e.send(e.f.Ann.Email, []string{tc.to}, mail(tc.from, tc.to, "Re: Q4", "Hello from "+tc.from))
			if tc.ok {
				if err != nil {
					t.Errorf("%s: %v, want accepted", tc.name, err)
				}
				continue
			}
			wantCode(t, tc.name, err, 550, smtp.EnhancedCode{5, 7, 1}, tc.from, "not a")
			e.nothingStored(tc.name, before)
		}
	})
}

// TestGeneralAddress: a known member writing fresh starts a thread with
// them; a follow-up threads by In-Reply-To; a header match into another
// team's thread is ignored.
func TestGeneralAddress(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		acme, acmeMsgID := e.staffThread(e.f.Acme, wholeTeam)
		to := "partners@" + e.domain
		if err := e.send(e.f.Sue.Email, []string{to}, mail(e.f.Sue.Email, to, "Question", "Hi, a question.", "Message-ID: <sue-1@solo.example>")); err != nil {
			t.Fatal(err)
		}
		threads := e.threads()
		var sue storage.Thread
		for _, th := range threads {
			if th.TeamID == e.f.Solo.ID {
				sue = th
			}
		}
		if sue.ID == 0 || sue.MemberID != e.f.Sue.ID || sue.Subject != "Question" {
			t.Fatalf("threads = %+v, want a new thread with Sue", threads)
		}
		follow := mail(e.f.Sue.Email, to, "Re: Question", "One more thing.", "In-Reply-To: <sue-1@solo.example>")
		if err := e.send(e.f.Sue.Email, []string{to}, follow); err != nil {
			t.Fatal(err)
		}
		if n := len(e.messages(sue.ID)); n != 2 {
			t.Errorf("Sue's thread has %d messages, want 2 (In-Reply-To)", n)
		}
		sneaky := mail(e.f.Sue.Email, to, "Re: Q4 pricing", "Let me in.", "References: <"+acmeMsgID+">")
		if err := e.send(e.f.Sue.Email, []string{to}, sneaky); err != nil {
			t.Fatal(err)
		}
		if n := len(e.messages(acme.ID)); n != 1 {
			t.Errorf("Acme's thread has %d messages: Sue wrote into another team's thread", n)
		}
		if n := len(e.threads()); n != 3 {
			t.Errorf("%d threads, want 3 (the sneaky mail starts its own)", n)
		}
		// The From must belong to the envelope sender's team.
		err := e.send(e.f.Sue.Email, []string{to}, mail(e.f.Ann.Email, to, "Hi", "spoof"))
		wantCode(t, "From of another team", err, 550, smtp.EnhancedCode{5, 7, 1})
	})
}

func TestDuplicateMessageIDStoredOnce(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		msg := mail(e.f.Ann.Email, to, "Re: Q4", "Same message.", "Message-ID: <dup@acme.example>")
		for i := 0; i < 2; i++ {
			if err := e.send(e.f.Ann.Email, []string{to}, msg); err != nil {
				t.Fatalf("send #%d = %v", i+1, err)
			}
		}
		if n := len(e.messages(th.ID)); n != 2 {
			t.Errorf("thread has %d messages, want 2 (staff + one reply)", n)
		}
		// A retransmitted new thread to the general address is found too.
		gen := "partners@" + e.domain
		fresh := mail(e.f.Sue.Email, gen, "New", "Fresh.", "Message-ID: <fresh@solo.example>")
		for i := 0; i < 2; i++ {
			if err := e.send(e.f.Sue.Email, []string{gen}, fresh); err != nil {
				t.Fatalf("send #%d = %v", i+1, err)
			}
		}
		if n := len(e.threads()); n != 2 {
			t.Errorf("%d threads, want 2", n)
		}
	})
}

func TestAutoReplyStoredMarked(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		msg := mail(e.f.Ann.Email, to, "Out of office", "I am away until Monday.", "Auto-Submitted: auto-replied")
		if err := e.send("", []string{to}, msg); err != nil { // vacation responders use the null sender
			t.Fatal(err)
		}
		ms := e.messages(th.ID)
		if len(ms) != 2 || !ms[1].AutoReply {
			t.Errorf("messages = %+v, want the auto-reply stored with AutoReply", ms)
		}
	})
}

func TestCampaignReply(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		c, err := e.store.CreateCampaign(context.Background(), storage.Campaign{CompanyID: e.f.Company.ID, StaffID: e.f.Manager.ID,
			Subject: "Spring promo", Body: "New prices"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		to := e.address(threading.Token{Kind: threading.KindCampaign, CampaignID: c.ID, MemberID: e.f.Bob.ID})
		for i := 0; i < 2; i++ {
			msg := mail(e.f.Bob.Email, to, "Re: Spring promo", fmt.Sprintf("Interested (%d).", i))
			if err := e.send(e.f.Bob.Email, []string{to}, msg); err != nil {
				t.Fatal(err)
			}
		}
		ts := e.threads()
		if len(ts) != 1 || ts[0].CampaignID != c.ID || ts[0].MemberID != e.f.Bob.ID || len(e.messages(ts[0].ID)) != 2 {
			t.Errorf("threads = %+v, want one campaign thread with Bob holding both replies", ts)
		}
		err = e.send(e.f.Ann.Email, []string{to}, mail(e.f.Ann.Email, to, "Re: Spring promo", "me too"))
		wantCode(t, "teammate on Bob's campaign token", err, 550, smtp.EnhancedCode{5, 7, 1})
	})
}

func TestStorageFailureIs451(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		before := e.snapshot()
		e.store.failDeliver.Store(true)
		ct, body := withFiles("See attached.", "a.pdf", "application/pdf", pdfBytes(5000))
		err := e.send(e.f.Ann.Email, []string{to}, mail(e.f.Ann.Email, to, "Re: Q4", body, "MIME-Version: 1.0", ct))
		se := wantCode(t, "deliver fails", err, 451, smtp.EnhancedCode{4, 3, 0})
		if se != nil && strings.Contains(se.Message, "database") {
			t.Errorf("storage error text reached the client: %q", se.Message)
		}
		e.nothingStored("deliver fails", before)
		e.store.failDeliver.Store(false)
		if err := e.send(e.f.Ann.Email, []string{to}, mail(e.f.Ann.Email, to, "Re: Q4", body, "MIME-Version: 1.0", ct)); err != nil {
			t.Errorf("retry = %v", err)
		}
	})
}
