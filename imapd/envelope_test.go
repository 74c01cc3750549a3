package imapd

import (
	"bufio"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

func parseTestHeader(t testing.TB, raw string) textproto.Header {
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw + "\r\n\r\n")))
	if err != nil {
		t.Skipf("ReadHeader(%q): %v", raw, err)
	}
	return h
}

func TestExtractEnvelopeGroups(t *testing.T) {
	a := func(name, mailbox, host string) imap.Address {
		return imap.Address{Name: name, Mailbox: mailbox, Host: host}
	}
	start := func(name string) imap.Address { return imap.Address{Mailbox: name} }
	end := imap.Address{}
	tests := []struct {
		name, cc string
		want     []imap.Address
	}{
		{"plain", `Ann <ann@x.example>, bob@y.example`,
			[]imap.Address{a("Ann", "ann", "x.example"), a("", "bob", "y.example")}},
		{"mixed", `first@x.example, group: a@x, B <b@y>;, last@z`, []imap.Address{
			a("", "first", "x.example"), start("group"), a("", "a", "x"), a("B", "b", "y"), end, a("", "last", "z")}},
		{"empty", `undisclosed-recipients:;`, []imap.Address{start("undisclosed-recipients"), end}},
		{"empty with space", `Undisclosed recipients: ;`, []imap.Address{start("Undisclosed recipients"), end}},
		{"quoted names", `"Team: a; b, c" : "Doe, John" <j@x>, "x:y;z" <z@x>;`, []imap.Address{
			start("Team: a; b, c"), a("Doe, John", "j", "x"), a("x:y;z", "z", "x"), end}},
		{"quoted colon, no group", `"Re: you" <you@x>, me@y`,
			[]imap.Address{a("Re: you", "you", "x"), a("", "me", "y")}},
		{"comments", `team (the: team) : a@x (A;), b@y; (after)`, []imap.Address{
			start("team"), a("A;", "a", "x"), a("", "b", "y"), end}},
		{"comment-only group", `nobody: (none);`, []imap.Address{start("nobody"), end}},
		{"encoded name", `=?utf-8?q?Caf=C3=A9_Team?=: =?iso-8859-1?q?J=F6rg?= <j@x>;`, []imap.Address{
			start("Café Team"), a("Jörg", "j", "x"), end}},
		{"two groups", `one: a@x;, two: b@y, c@z;`, []imap.Address{
			start("one"), a("", "a", "x"), end, start("two"), a("", "b", "y"), a("", "c", "z"), end}},
		// net/mail reads neither routes nor a comment before an address:
		// imapserver gives nothing, and so do we.
		{"route in angle", `g: <@r1,@r2:a@x>;`, nil},
		{"comment before member", `g: (c,:) b@y;`, nil},
		{"unterminated", `group: a@x, b@y`, nil},
		{"unterminated empty", `group:`, nil},
		{"nested", `g: h: a@x;;`, nil},
		{"no comma after group", `g: a@x; b@y`, nil},
		{"stray semicolon", `a@x; b@y`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := parseTestHeader(t, "From: f@x\r\nCc: "+tt.cc)
			base := imapserver.ExtractEnvelope(h)
			e := extractEnvelope(h)
			if !reflect.DeepEqual(e.Cc, tt.want) {
				t.Errorf("extractEnvelope(Cc: %q).Cc = %v, want %v", tt.cc, e.Cc, tt.want)
			}
			e.Cc, base.Cc = nil, nil
			if !reflect.DeepEqual(e, base) {
				t.Errorf("extractEnvelope(Cc: %q) = %+v, want other fields as imapserver's %+v", tt.cc, e, base)
			}
		})
	}
}

// TestExtractEnvelopeFields: every address field keeps its groups, and
// Sender and Reply-To stay absent (the writer sends From) when absent.
func TestExtractEnvelopeFields(t *testing.T) {
	g := []imap.Address{{Mailbox: "g"}, {Mailbox: "a", Host: "x"}, {}}
	for _, k := range []string{"From", "Sender", "Reply-To", "To", "Cc", "Bcc"} {
		e := extractEnvelope(parseTestHeader(t, k+": g: a@x;"))
		got := map[string][]imap.Address{"From": e.From, "Sender": e.Sender, "Reply-To": e.ReplyTo,
			"To": e.To, "Cc": e.Cc, "Bcc": e.Bcc}
		for f, l := range got {
			want := g
			if f != k {
				want = nil
			}
			if !reflect.DeepEqual(l, want) {
				t.Errorf("extractEnvelope(%s: g: a@x;) %s = %v, want %v", k, f, l, want)
			}
		}
	}
}

// FuzzExtractEnvelope: no panic, group markers balanced and not nested,
// and the members, markers left out, are exactly imapserver's list.
func FuzzExtractEnvelope(f *testing.F) {
	f.Add("To: group: a@x, b@y;, c@z\r\nCc: undisclosed-recipients:;")
	f.Add("From: \"a:b;c\" <a@x>, (c:;) g (d) : =?utf-8?q?=C3=A9?= <b@y>;")
	f.Fuzz(func(t *testing.T, raw string) {
		h := parseTestHeader(t, raw)
		base := imapserver.ExtractEnvelope(h)
		e := extractEnvelope(h)
		lists := [][2][]imap.Address{{base.From, e.From}, {base.Sender, e.Sender}, {base.ReplyTo, e.ReplyTo},
			{base.To, e.To}, {base.Cc, e.Cc}, {base.Bcc, e.Bcc}}
		for _, p := range lists {
			var members []imap.Address
			open := false
			for _, a := range p[1] {
				switch {
				case a == imap.Address{}:
					if !open {
						t.Fatalf("extractEnvelope(%q): end marker without start in %v", raw, p[1])
					}
					open = false
				case a.Host == "" && a.Name == "" && a.Mailbox != "":
					if open {
						t.Fatalf("extractEnvelope(%q): group in a group in %v", raw, p[1])
					}
					open = true
				default:
					members = append(members, a)
				}
			}
			if open {
				t.Fatalf("extractEnvelope(%q): unterminated group in %v", raw, p[1])
			}
			if len(members) != len(p[0]) || len(members) > 0 && !reflect.DeepEqual(members, p[0]) {
				t.Fatalf("extractEnvelope(%q) members = %v, want imapserver's %v", raw, members, p[0])
			}
		}
	})
}
