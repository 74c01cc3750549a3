package imapd

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from what the server sends")

// envelopeMessages are headers ENVELOPE has to get right: encoded words,
// raw UTF-8 and invalid bytes, missing fields, several addresses, group
// syntax, folded lines, quoting, odd dates and In-Reply-To lists.
var envelopeMessages = []string{
	"From: Ann <ann@partner.example>\r\nTo: partners@partners.acme.example\r\nSubject: Plain\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <plain@x>\r\n\r\nbody\r\n",
	"From: =?utf-8?q?Andr=C3=A9_M=C3=BCller?= <andre@partner.example>\r\nTo: =?iso-8859-1?q?J=F6rg?= <jorg@x.example>\r\n" +
		"Subject: =?utf-8?b?w4ljaGFuZ2UgZMOpdGFpbGzDqQ==?= and =?utf-8?q?more_=E2=82=AC?=\r\n" +
		"Date: Tue, 3 Feb 2026 08:09:10 +0530\r\nMessage-ID: <enc@x>\r\n\r\nbody\r\n",
	"From: Zoë Ünïcode <zoe@partner.example>\r\nSubject: Grüße aus Köln — 日本語\r\n" +
		"Date: Wed, 04 Mar 2026 23:59:59 -0800\r\n\r\nbody\r\n",
	"Subject: no from, no date, no message-id\r\n\r\nbody\r\n",
	"From: ann@partner.example\r\n\r\nno subject\r\n",
	"From: \"Doe, John\" <john@partner.example>, Mary <mary@partner.example>\r\n" +
		"Sender: Desk <desk@partner.example>\r\nReply-To: reply@partner.example\r\n" +
		"To: a@x.example, \"B \\\"quoted\\\" Person\" <b@x.example>, c@x.example\r\n" +
		"Cc: Undisclosed recipients:;\r\nBcc: Team: one@x.example, two@x.example;, three@x.example\r\n" +
		"Subject: Many\r\n addresses, folded\r\nDate: 5 Mar 2026 10:00 GMT\r\n" +
		"In-Reply-To: <a@x> <b@x>\r\nMessage-ID: <many@x>\r\n\r\nbody\r\n",
	"From: broken <@>\r\nTo: <not an address\r\nSubject: \xff\xfe invalid \"bytes\" \\ and\ttab\r\n" +
		"Date: not a date\r\nMessage-ID: no-brackets\r\n\r\nbody\r\n",
	"From: long <long@partner.example>\r\nSubject: " + strings.Repeat("long subject ", 40) + "\r\n" +
		"Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n\r\nbody\r\n",
	"From: nobody-body@partner.example\r\nSubject: header only, no blank line",
	"From: =?utf-8?q?J=C3=B6rg?= <jörg@exämple.de>\r\nTo: \"Ünï\" <ünï@例え.jp>\r\nSubject: utf-8 addresses\r\n" +
		"Message-ID: <ü@exämple.de>\r\nIn-Reply-To: <é@x>\r\n\r\nbody\r\n",
	// 4,096 bytes with the brackets may be quoted, 4,097 may not.
	"Subject: long ids\r\nMessage-ID: <" + strings.Repeat("m", 4092) + "@x>\r\n" +
		"In-Reply-To: <" + strings.Repeat("r", 4093) + "@x>\r\n\r\nbody\r\n",
}

var threadToken = regexp.MustCompile(`"thread\+[^"]*"`)

// TestEnvelopeGolden: FETCH 1:* (ENVELOPE) sends exactly the bytes of
// testdata/envelope.golden, the first time (envelopes parsed from the
// messages) and the next (from the caches), alone or with other items,
// with the text cache on or off.
func TestEnvelopeGolden(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		for _, texts := range []int{0, -1} {
			t.Run(fmt.Sprintf("texts=%d", texts), func(t *testing.T) {
				envelopeGolden(t, driver, func(c *Config) { c.EnvelopeCache = texts })
			})
		}
	})
}

func envelopeGolden(t *testing.T, driver string, texts func(*Config)) {
	e := newTestServer(t, driver, noWarmer, texts) // the first FETCH parses
	f := e.f
	for i, raw := range envelopeMessages {
		e.deliverRaw(f, f.Acme, f.Ann, "golden"+strconv.Itoa(i)+"@x", raw, "in")
	}
	var got strings.Builder
	fetch := func(rc *rawConn, tag string, cmds ...string) {
		for _, cmd := range cmds {
			got.WriteString(tag + " " + cmd)
			got.WriteString(rc.cmd(tag, tag+" "+cmd))
		}
	}
	rc := dialRaw(t, e.addr)
	rc.cmd("a", "a LOGIN "+f.Admin.Email+" \""+testPassword+"\"\r\n")
	rc.cmd("b", "b SELECT INBOX\r\n")
	fetch(rc, "c", "FETCH 1:* (ENVELOPE)\r\n")
	// The parsed envelopes are in the database once the cache writer
	// stops (before, the second FETCH reads some from the database,
	// some from memory, as the writer goes).
	e.srv.closeCaches(t.Context())
	fetch(rc, "c", "FETCH 1:* (ENVELOPE)\r\n")
	// Another server over the same store has empty memory caches: it
	// reads what the first stored.
	warm := dialRaw(t, e.another(texts).addr)
	warm.cmd("a", "a LOGIN "+f.Admin.Email+" \""+testPassword+"\"\r\n")
	warm.cmd("b", "b SELECT INBOX\r\n")
	fetch(warm, "c", "FETCH 1:* (ENVELOPE)\r\n", "FETCH 1:* (UID ENVELOPE)\r\n", "FETCH 2,4,6 (ENVELOPE RFC822.SIZE)\r\n")
	// With IMAP4rev2 enabled, UTF-8 strings are quoted, not literals.
	rev2 := dialRaw(t, e.addr)
	rev2.cmd("a", "a LOGIN "+f.Admin.Email+" \""+testPassword+"\"\r\n")
	fetch(rev2, "b", "ENABLE IMAP4rev2\r\n")
	rev2.cmd("b", "b SELECT INBOX\r\n")
	fetch(rev2, "c", "FETCH 8:* (ENVELOPE)\r\n", "UID FETCH 9:* (ENVELOPE)\r\n")
	// Private folder: a copy and an appended message with a Reply-To.
	warm.cmd("d", "d CREATE Archives\r\n")
	warm.cmd("d", "d COPY 1:3 Archives\r\n")
	raw := "From: admin@acme.example\r\nReply-To: Desk <desk@acme.example>\r\nSubject: =?utf-8?q?note_=C3=A9?=\r\n\r\nmine\r\n"
	warm.cmd("d", "d APPEND Archives {"+strconv.Itoa(len(raw))+"+}\r\n"+raw+"\r\n")
	warm.cmd("d", "d SELECT Archives\r\n")
	fetch(warm, "e", "FETCH 1:* (ENVELOPE)\r\n", "FETCH 1:* (ENVELOPE)\r\n")
	out := threadToken.ReplaceAllString(got.String(), `"thread+TOKEN"`)
	checkGolden(t, "envelope.golden", out)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
