package smtpd

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// exeBytes is a minimal PE executable.
func exeBytes() []byte {
	b := make([]byte, 4096)
	copy(b, "MZ")
	b[0x3c] = 0x80
	copy(b[0x80:], "PE\x00\x00\x4c\x01")
	return b
}

func gifBytes(n int) []byte {
	b := make([]byte, n)
	copy(b, "GIF89a\x01\x00\x01\x00")
	for i := 10; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

// TestBadInputRefused: each bad message gets a clear 5xx naming the
// problem, and nothing of it is stored (no blob, no message, no thread).
func TestBadInputRefused(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		var eleven []any
		for i := 1; i <= 11; i++ {
			eleven = append(eleven, fmt.Sprintf("page%02d.pdf", i), "application/pdf", pdfBytes(2000))
		}
		multi := func(files ...any) string {
			ct, body := withFiles("See attached.", files...)
			return mail(e.f.Ann.Email, to, "Re: Q4", body, "MIME-Version: 1.0", ct)
		}
		truncated := multi("big.pdf", "application/pdf", pdfBytes(100_000))
		truncated = truncated[:len(truncated)/2]
		tests := []struct {
			name  string
			msg   string
			code  int
			enh   smtp.EnhancedCode
			texts []string
		}{
			{"11 attachments", multi(eleven...), 554, smtp.EnhancedCode{5, 6, 0}, []string{`"page11.pdf"`, "at most 10 attachments"}},
			{".exe renamed .pdf", multi("invoice.pdf", "application/pdf", exeBytes()), 554, smtp.EnhancedCode{5, 6, 1},
				[]string{`"invoice.pdf"`, "only JPEG, PNG, GIF images"}},
			{"31 MB GIF", multi("photo.gif", "image/gif", gifBytes(31<<20)), 552, smtp.EnhancedCode{5, 3, 4},
				[]string{`"photo.gif"`, "larger than 30 MB"}},
			{"truncated MIME", truncated, 554, smtp.EnhancedCode{5, 6, 0}, []string{`"big.pdf"`, "truncated"}},
		}
		for _, tt := range tests {
			before := e.snapshot()
			err := e.send(e.f.Ann.Email, []string{to}, tt.msg)
			wantCode(t, tt.name, err, tt.code, tt.enh, tt.texts...)
			e.nothingStored(tt.name, before)
		}
	})
}

// TestLongHeaderLine: a 10,000-character header line breaks the line
// limit; the client gets 500 5.5.2 and go-smtp closes the connection (it
// cannot resynchronise), so the raw dialogue is used: the go-smtp client
// would still be writing when the connection closes.
func TestLongHeaderLine(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		before := e.snapshot()
		c, r := dialRaw(t, e.addr)
		for _, cmd := range []string{"EHLO mx.partner.example", "MAIL FROM:<" + e.f.Ann.Email + ">", "RCPT TO:<" + to + ">", "DATA"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			readReply(t, r)
		}
		c.Write([]byte(mail(e.f.Ann.Email, to, "Re: Q4", "hi", "X-Long: "+strings.Repeat("x", 10_000)) + ".\r\n"))
		reply := readReply(t, r)
		if !strings.HasPrefix(reply[0], "500 5.5.2 line too long") || !strings.Contains(reply[0], "2000") {
			t.Errorf("reply = %q, want 500 5.5.2 line too long … 2000", reply)
		}
		e.waitLog("reason=line_length")
		e.nothingStored("long header line", before)
	})
}

// TestDefectsTolerated: damage that mail clients read around (unknown
// charsets, missing boundaries) does not bounce a partner's reply; the
// message is stored whole, byte-exact, and the defect is logged.
func TestDefectsTolerated(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		for _, tc := range []struct{ name, extra, body, text string }{
			{"unknown charset", "Content-Type: text/plain; charset=x-klingon-7", "Qapla\xe9, Friday works.", "Friday works"},
			{"multipart without boundary", "Content-Type: multipart/mixed", "Friday works for us.", "Friday works for us."},
			{"missing closing boundary", "Content-Type: multipart/mixed; boundary=b",
				"--b\r\nContent-Type: text/plain\r\n\r\nFriday works, no end boundary.\r\n", "Friday works, no end boundary."},
		} {
			msg := mail(e.f.Ann.Email, to, "Re: Q4", tc.body, "MIME-Version: 1.0", tc.extra)
			if err := e.send(e.f.Ann.Email, []string{to}, msg); err != nil {
				t.Errorf("%s: %v, want accepted", tc.name, err)
				continue
			}
			ms := e.messages(th.ID)
			m := ms[len(ms)-1]
			if !strings.Contains(m.Text, tc.text) {
				t.Errorf("%s: Text = %q, want it to contain %q", tc.name, m.Text, tc.text)
			}
			if got := e.readBlob(m.RawKey); string(got) != msg {
				t.Errorf("%s: raw message not stored whole", tc.name)
			}
		}
		if !strings.Contains(e.logs.String(), "defects=") {
			t.Errorf("defects not logged:\n%s", e.logs.String())
		}
	})
}

// dialRaw opens a plain TCP session and reads the greeting.
func dialRaw(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	if g := readReply(t, r); !strings.HasPrefix(g[0], "220 ") {
		t.Fatalf("greeting = %q, want 220", g)
	}
	return c, r
}

// readReply reads one (possibly multi-line) reply and returns its lines.
func readReply(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	var lines []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read reply: %v (so far %q)", err, lines)
		}
		lines = append(lines, strings.TrimRight(l, "\r\n"))
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// TestKilledMidData: a connection cut inside DATA stores nothing.
func TestKilledMidData(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		before := e.snapshot()
		c, r := dialRaw(t, e.addr)
		ct, body := withFiles("Half a file.", "half.pdf", "application/pdf", pdfBytes(300_000))
		msg := mail(e.f.Ann.Email, to, "Re: Q4", body, "MIME-Version: 1.0", ct)
		for _, cmd := range []string{"EHLO mx.partner.example", "MAIL FROM:<" + e.f.Ann.Email + ">", "RCPT TO:<" + to + ">", "DATA"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			readReply(t, r)
		}
		c.Write([]byte(msg[:len(msg)/2]))
		c.Close()
		e.waitLog("outcome=tempfail")
		e.nothingStored("killed mid-DATA", before)
		if !strings.Contains(e.logs.String(), "reason=aborted") {
			t.Errorf("log does not say the transaction was aborted:\n%s", e.logs.String())
		}
	})
}

// waitLog waits until the server logged s (the transaction line comes
// after the client is gone, so there is no reply to wait for).
func (e *testEnv) waitLog(s string) {
	e.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(e.logs.String(), s) {
			return
		}
	}
	e.t.Fatalf("server never logged %q:\n%s", s, e.logs.String())
}

// TestSmuggling: bare LF and "\n.\r\n" inside DATA neither end the
// message nor start a second one (SMTP smuggling, CVE-2023-51764 and
// friends): one DATA, one reply, one stored message holding it all.
func TestSmuggling(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		to := e.replyAddr(th, e.f.Ann)
		smuggled := "MAIL FROM:<" + e.f.Bob.Email + ">\r\nRCPT TO:<" + to + ">\r\nDATA\r\n" +
			"From: " + e.f.Bob.Email + "\r\nMessage-ID: <smuggled@evil.example>\r\n\r\nsmuggled\r\n"
		body := "First line.\n" +
			"\n.\r\n" + smuggled + // LF . CRLF
			"\r\n.\n" + smuggled + // CRLF . LF
			"\n.\n" + smuggled + // LF . LF
			"\r.\r\n" + smuggled + // CR . CRLF
			"Last line.\r\n"
		msg := "From: " + e.f.Ann.Email + "\r\nTo: " + to + "\r\nSubject: Re: Q4\r\nMessage-ID: <outer@acme.example>\r\n\r\n" + body
		c, r := dialRaw(t, e.addr)
		for _, cmd := range []string{"EHLO mx.partner.example", "MAIL FROM:<" + e.f.Ann.Email + ">", "RCPT TO:<" + to + ">", "DATA"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			readReply(t, r)
		}
		fmt.Fprintf(c, "%s.\r\nQUIT\r\n", msg)
		var replies []string
		for {
			l := readReply(t, r)
			replies = append(replies, l[len(l)-1])
			if strings.HasPrefix(l[0], "221") {
				break
			}
		}
		if len(replies) != 2 || !strings.HasPrefix(replies[0], "250 ") {
			t.Fatalf("replies after DATA = %q, want one 250 then 221", replies)
		}
		ms := e.messages(th.ID)
		if len(ms) != 2 || ms[1].MessageID != "outer@acme.example" {
			t.Fatalf("thread messages = %d (%+v), want staff + the one outer message", len(ms), ms)
		}
		raw := string(e.readBlob(ms[1].RawKey))
		if !strings.Contains(raw, "Last line.") || strings.Count(raw, "smuggled\r\n") != 4 {
			t.Errorf("stored message does not hold the whole DATA:\n%q", raw)
		}
	})
}
