package outbound

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/templates"
	"github.com/partnermail/partnermail/threading"
)

// FuzzComposeHeaders gives arbitrary names and subjects to the header
// code and checks that the email always has exactly its own fields, each
// once, with values free of line breaks.
//
//	go test -run '^$' -fuzz FuzzComposeHeaders -fuzztime 60s ./outbound
func FuzzComposeHeaders(f *testing.F) {
	f.Add("Pat Manager", "Ann", "Hello", "Acme Inc.")
	f.Add("Mallory\r\nBcc: x@evil.example", "Eve\nTo: y@evil.example", "Hi\r\n\r\nbody", "Co\rX: y")
	f.Add(`Zoë "PM", Ünal`, "=?utf-8?q?=0D=0ABcc:_x?=", "=?utf-8?b?DQpCY2M6IHg=?=", "\x00\x7f\u2028")
	f.Add(`Zoë\`, `é\`, "Hi", `Ünal \ Co`)
	f.Add(strings.Repeat("ö", 200), strings.Repeat("a ", 600), strings.Repeat("x", 2000), "")
	tokens, err := threading.NewTokens([]threading.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	tpl, err := templates.New("")
	if err != nil {
		f.Fatal(err)
	}
	c, err := NewComposer(ComposerConfig{Store: nil, Tokens: tokens, Templates: tpl, PublicURL: "https://pm.example"})
	if err == nil || c != nil {
		f.Fatal("NewComposer without a store: no error")
	}
	c = &TemplateComposer{cfg: ComposerConfig{Tokens: tokens, PublicURL: "https://pm.example"}}
	want := []string{"Content-Type", "Date", "From", "List-Unsubscribe", "List-Unsubscribe-Post", "Message-Id",
		"Mime-Version", "Reply-To", "Subject", "To"}
	f.Fuzz(func(t *testing.T, author, member, subject, company string) {
		m, _, _, err := c.newMsg(head{
			row:     storage.OutboundEmail{ID: 1, Rcpt: "ann@acme.example", MessageID: "id@x"},
			company: storage.Company{ID: 1, Slug: "acme", Name: company, FromAddr: "partners@acme.example", Domains: []string{"partners.acme.example"}},
			member:  storage.Member{ID: 2, Name: member}, fromName: author, subject: subject,
			date:    fuzzDate,
			replyTo: threading.Token{Kind: threading.KindReply, CompanyID: 1, ThreadID: 3, MemberID: 2},
		})
		if err != nil {
			t.Fatal(err)
		}
		setBody(m, "text", "<p>html</p>")
		var buf bytes.Buffer
		if _, err := (&Email{Msg: m}).WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		mr, err := mail.CreateReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, buf.Bytes())
		}
		var keys []string
		fields := mr.Header.Fields()
		for fields.Next() {
			keys = append(keys, fields.Key())
			if v, err := fields.Text(); err == nil && strings.ContainsAny(v, "\r\n") {
				t.Errorf("%s value %q has a line break", fields.Key(), v)
			}
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("fields %q, want %q:\n%s", keys, want, buf.Bytes())
		}
		from, err := mr.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Address != "partners@acme.example" {
			t.Errorf("From = %v, %v", from, err)
		}
		to, err := mr.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != "ann@acme.example" {
			t.Errorf("To = %v, %v", to, err)
		}
	})
}

var fuzzDate = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func TestHeaderText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Pat Manager", "Pat Manager"},
		{"  Pat \t Manager\r\n", "Pat Manager"},
		{"A\r\nBcc: x", "A Bcc: x"},
		{"a\u2028b\x00c\x7fd", "a b c d"},
		{"=?utf-8?b?DQpCY2M6IHg=?=", "= ?utf-8?b?DQpCY2M6IHg= ?="},
		{"Zoë Ünal", "Zoë Ünal"},
	}
	for _, tc := range tests {
		if got := headerText(tc.in); got != tc.want {
			t.Errorf("headerText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAttachmentName(t *testing.T) {
	long := strings.Repeat("😀", 100) + ".pdf"
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"", "attachment"},
		{" \r\n", "attachment"},
		{"a\r\nb.txt", "a b.txt"},
		{long, strings.Repeat("😀", 29) + ".pdf"},
		{strings.Repeat("x", 130), strings.Repeat("x", 120)},
		{strings.Repeat("x", 120) + "." + strings.Repeat("y", 20), strings.Repeat("x", 120)},
	}
	for _, tc := range tests {
		got := attachmentName(tc.in)
		if got != tc.want || len(got) > maxNameBytes || !utf8.ValidString(got) {
			t.Errorf("attachmentName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
