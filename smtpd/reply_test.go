package smtpd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

func TestReplyLines(t *testing.T) {
	long := strings.Repeat("word ", 200) + "end" // 1003 octets
	url := "https://acme.example/" + strings.Repeat("x", 900)
	tests := []struct {
		name   string
		text   string
		utf8OK bool
		want   []string
	}{
		{"one line", "Please write to support@acme.example", false, []string{"Please write to support@acme.example"}},
		{"CRLF, CR and LF", "a\r\nb\rc\nd", false, []string{"a", "b", "c", "d"}},
		{"blank lines inside kept, outside dropped", "\r\n\r\na\r\n\r\nb\r\n\r\n", false, []string{"a", "", "b"}},
		{"control characters", "a\x00b\tc\x1bd", false, []string{"a b c d"}},
		{"UTF-8 kept with SMTPUTF8", "Grüße – Straße", true, []string{"Grüße – Straße"}},
		{"transliterated without SMTPUTF8", "Grüße aus Köln – „Straße“ … 5 €", false, []string{`Grusse aus Koln - "Strasse" ... 5 EUR`}},
		{"unmappable", "日本", false, []string{"??"}},
		{"invalid UTF-8", "a\xffb", true, []string{"a?b"}},
		{"empty", " \r\n ", false, []string{"refused"}},
	}
	for _, tt := range tests {
		got := replyLines(tt.text, tt.utf8OK)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: replyLines(%q) = %q, want %q", tt.name, tt.text, got, tt.want)
		}
	}
	for _, in := range []string{long, url} {
		got := replyLines(in, false)
		for _, l := range got {
			if len(l) > maxReplyText {
				t.Errorf("line of %d octets, want at most %d", len(l), maxReplyText)
			}
		}
		joined := strings.Join(got, " ")
		if in == url {
			joined = strings.Join(got, "")
		}
		if joined != in {
			t.Errorf("wrapped %q does not join back to the input", got)
		}
	}
	if n := len(replyLines(strings.Repeat("x\n", 500), false)); n != maxReplyLines {
		t.Errorf("500 lines give %d reply lines, want %d", n, maxReplyLines)
	}
}

// TestRedirectTextOnTheWire: long, non-ASCII redirect texts keep every
// reply line within RFC 5321's 512 octets, put the enhanced code on each
// line, and reach an SMTPUTF8 client unchanged.
func TestRedirectTextOnTheWire(t *testing.T) {
	long := "Bitte schreiben Sie an support@acme.example oder öffnen Sie " + strings.Repeat("https://acme.example/hilfe ", 30)
	redirect := "Die Nachrichtenfunktion ist für Gold-Partner pausiert.\n" + long
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		if err := e.store.SetGroupMessaging(context.Background(), e.f.Company.ID, e.f.Gold.ID, false, redirect); err != nil {
			t.Fatal(err)
		}
		to := e.replyAddr(th, e.f.Ann)
		c, r := dialRaw(t, e.addr)
		fmt.Fprintf(c, "EHLO mx.partner.example\r\n")
		readReply(t, r)
		fmt.Fprintf(c, "MAIL FROM:<%s>\r\n", e.f.Ann.Email)
		readReply(t, r)
		fmt.Fprintf(c, "RCPT TO:<%s>\r\n", to)
		lines := readReply(t, r)
		if len(lines) < 3 {
			t.Fatalf("reply = %q, want several lines", lines)
		}
		for i, l := range lines {
			if len(l)+2 > 512 {
				t.Errorf("reply line %d has %d octets", i, len(l)+2)
			}
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			if !strings.HasPrefix(l, "550"+sep+"5.7.1 ") {
				t.Errorf("reply line %q lacks 550%s5.7.1", l, sep)
			}
			for _, ch := range []byte(l) {
				if ch >= 0x80 {
					t.Errorf("non-ASCII in a reply to a client without SMTPUTF8: %q", l)
					break
				}
			}
		}
		if !strings.Contains(lines[0], "fur Gold-Partner") {
			t.Errorf("first line %q, want the text transliterated", lines[0])
		}
		// With SMTPUTF8 the text arrives as written.
		err := sendMail(e.addr, e.f.Ann.Email, &smtp.MailOptions{UTF8: true}, []string{to}, "x")
		se := wantCode(t, "SMTPUTF8 client", err, 550, smtp.EnhancedCode{5, 7, 1})
		if se != nil {
			got := strings.Split(se.Message, "\n")
			if got[0] != "Die Nachrichtenfunktion ist für Gold-Partner pausiert." ||
				strings.Join(got[1:], " ") != strings.TrimRight(long, " ") {
				t.Errorf("SMTPUTF8 reply = %q", se.Message)
			}
		}
	})
}

// FuzzReplyLines: whatever a group's redirect text or a file name holds,
// the reply lines cannot break the SMTP dialogue.
func FuzzReplyLines(f *testing.F) {
	for _, s := range []string{"Please write to support@acme.example", "a\r\nb\rc\n\nd", "Grüße – „Straße“ 日本",
		strings.Repeat("x", 1000), "\x00\x1b[31m\xff\xfe", " \r\n "} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, utf8OK bool) {
		lines := replyLines(text, utf8OK)
		if len(lines) == 0 || len(lines) > maxReplyLines {
			t.Fatalf("replyLines(%q) gave %d lines", text, len(lines))
		}
		for _, l := range lines {
			if len(l) > maxReplyText || !utf8.ValidString(l) {
				t.Fatalf("replyLines(%q): line %q too long or not UTF-8", text, l)
			}
			for _, r := range l {
				if r < 0x20 || r == 0x7f || (!utf8OK && r >= 0x80) {
					t.Fatalf("replyLines(%q, %v): line %q holds %U", text, utf8OK, l, r)
				}
			}
		}
	})
}
