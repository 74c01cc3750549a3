package smtpd

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage"
)

// FuzzSubCompleteHeader: the message passes through byte for byte; only
// whole Message-ID and Date fields are added in front, and only when the
// header lacks them.
func FuzzSubCompleteHeader(f *testing.F) {
	f.Add([]byte("From: a@b\r\nSubject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("Message-ID: <x@y>\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n\r\n"))
	f.Add([]byte("message-id:<x@y>\n\nbody"))
	f.Add([]byte(" folded: start\r\nX: " + strings.Repeat("y", 40000) + "\r\n\r\n"))
	f.Add([]byte(""))
	co := storage.Company{Domains: []string{"partners.acme.example"}}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, id, err := subCompleteHeader(bytes.NewReader(in), co, now)
		if err != nil {
			t.Fatalf("subCompleteHeader: %v", err)
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(out, in) {
			t.Fatalf("output %q does not end with the input %q", out, in)
		}
		prefix := string(out[:len(out)-len(in)])
		for _, l := range strings.SplitAfter(prefix, "\r\n") {
			if l != "" && !strings.HasPrefix(l, "Message-ID: <") && !strings.HasPrefix(l, "Date: ") {
				t.Fatalf("added line %q", l)
			}
		}
		if (id != "") != strings.Contains(prefix, "Message-ID: <"+id+">\r\n") {
			t.Fatalf("id %q, prefix %q", id, prefix)
		}
	})
}

// FuzzSubReplyText: a reply text is at most 20 lines of at most 200 octets
// (RFC 5321 allows 512), none empty or broken by CR/LF, ASCII unless the
// client said SMTPUTF8, each but the last carrying the enhanced code.
func FuzzSubReplyText(f *testing.F) {
	f.Add("Please write to support@acme.example\r\n.\r\nMAIL FROM:<x>", false)
	f.Add("Bitte schreiben Sie an Jürgen — öffnen Sie https://acme.example/hilfe", false)
	f.Add(strings.Repeat("word ", 2000), true)
	f.Add(strings.Repeat("x", 900), true)
	f.Add("\xff\xfe broken \xc3", false)
	f.Fuzz(func(t *testing.T, text string, utf8ok bool) {
		enh := smtp.EnhancedCode{5, 7, 1}
		got := subReplyText(text, enh, utf8ok)
		lines := strings.Split(got, "\n")
		if len(lines) > subReplyMaxLines+1 {
			t.Fatalf("%d lines", len(lines))
		}
		for i, l := range lines {
			if len(l) > 512-10 || strings.ContainsAny(l, "\r\x00") {
				t.Fatalf("line %d = %q", i, l)
			}
			if i < len(lines)-1 && !strings.HasPrefix(l, "5.7.1 ") {
				t.Fatalf("line %d = %q lacks the enhanced code", i, l)
			}
			if !utf8.ValidString(l) {
				t.Fatalf("line %d = %q is not UTF-8", i, l)
			}
			if !utf8ok {
				for _, r := range l {
					if r >= utf8.RuneSelf {
						t.Fatalf("line %d = %q is not ASCII", i, l)
					}
				}
			}
		}
	})
}
