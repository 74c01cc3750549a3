package imapd

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestFetchWireFlags: the FLAGS responses fetchWire writes are the bytes
// of RFC 9051 section 7.5.2, as imapserver writes them, and they reach
// the connection in writes of about writeBuf, not one per message.
func TestFetchWireFlags(t *testing.T) {
	cases := []struct {
		seq, uid          uint32
		withUID, withFlag bool
		flags             []string
		want              string
	}{
		{1, 7, true, true, []string{`\Seen`, `$Label1`}, "* 1 FETCH (UID 7 FLAGS (\\Seen $Label1))\r\n"},
		{2, 9, false, true, nil, "* 2 FETCH (FLAGS ())\r\n"},
		{3, 12, true, false, []string{`\Seen`}, "* 3 FETCH (UID 12)\r\n"},
		{4, 13, true, true, []string{`bad flag`, `\Flagged`, ``, `x(y`, "\x01", `a\b`, `NonJunk`}, "* 4 FETCH (UID 13 FLAGS (\\Flagged NonJunk))\r\n"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		w := &fetchWire{conn: &out}
		if err := w.flags(c.seq, c.uid, c.withUID, c.withFlag, c.flags); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 {
			t.Errorf("written before flush: %q", out.String())
		}
		w.flush()
		if out.String() != c.want {
			t.Errorf("flags(%d, %d, %v, %v, %q) = %q, want %q", c.seq, c.uid, c.withUID, c.withFlag, c.flags, out.String(), c.want)
		}
	}
	var wr countingWriter
	w := &fetchWire{conn: &wr}
	for i := uint32(1); i <= 10000; i++ {
		w.flags(i, i, true, true, []string{`\Seen`})
	}
	w.flush()
	if want := wr.n / writeBuf; wr.writes > want+1 {
		t.Errorf("%d bytes in %d writes, want about %d", wr.n, wr.writes, want)
	}
	if !strings.HasSuffix(wr.last, "* 10000 FETCH (UID 10000 FLAGS (\\Seen))\r\n") {
		t.Errorf("last write ends %q", wr.last[max(0, len(wr.last)-60):])
	}
}

type countingWriter struct {
	n, writes int
	last      string
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	c.writes++
	c.last = string(p)
	return len(p), nil
}

// TestEnvelopeChunks: FETCH of ENVELOPE alone reads its rows a chunk at
// a time (one chunk ahead with PostgreSQL); the answer is the same bytes,
// in order, whatever the chunk size.
func TestEnvelopeChunks(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		for i := 0; i < 10; i++ {
			e.deliver(f, f.Acme, f.Ann, "chunk "+strconv.Itoa(i), "body")
		}
		rc := dialRaw(t, e.addr)
		rc.cmd("a", "a LOGIN "+f.Admin.Email+" \""+testPassword+"\"\r\n")
		rc.cmd("b", "b SELECT INBOX\r\n")
		cmds := []string{"FETCH 1:* (ENVELOPE)", "UID FETCH 2:9 (ENVELOPE)", "FETCH 4,1,7:8 (ENVELOPE)"}
		var want []string
		for _, c := range cmds {
			want = append(want, rc.cmd("c", "c "+c+"\r\n"))
		}
		if n := strings.Count(want[0], "* "); n != 10 {
			t.Fatalf("FETCH 1:* answered %d messages, want 10:\n%s", n, want[0])
		}
		e.srv.envChunk = 3
		for i, c := range cmds {
			if got := rc.cmd("c", "c "+c+"\r\n"); got != want[i] {
				t.Errorf("%s in chunks of 3:\n%s\nwant (one chunk):\n%s", c, got, want[i])
			}
		}
	})
}

// TestEnvelopeMixedCache: a listing whose messages are partly cached
// (written from the cached text) and partly not (parsed from their
// blobs, in any order among the others) is the same bytes as the
// listing once all are cached, in any chunk size.
func TestEnvelopeMixedCache(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver, noWarmer)
		f := e.f
		for i, raw := range envelopeMessages[:6] {
			e.deliverRaw(f, f.Acme, f.Ann, "mixed"+strconv.Itoa(i)+"@x", raw, "in")
		}
		login := func(addr string) *rawConn {
			rc := dialRaw(t, addr)
			rc.cmd("a", "a LOGIN "+f.Admin.Email+" \""+testPassword+"\"\r\n")
			rc.cmd("b", "b SELECT INBOX\r\n")
			return rc
		}
		login(e.addr).cmd("c", "c FETCH 2,4:5 (ENVELOPE)\r\n") // parsed, then stored
		e.srv.closeCaches(t.Context())
		var got []string
		for _, chunk := range []int{2, 3, 4000} {
			o := e.another(noWarmer) // empty memory caches: 1, 3 and 6 are parsed
			o.srv.envChunk = chunk
			got = append(got, login(o.addr).cmd("c", "c FETCH 1:* (ENVELOPE)\r\n"))
			o.srv.closeCaches(t.Context())
		}
		want := login(e.another(noWarmer).addr).cmd("c", "c FETCH 1:* (ENVELOPE)\r\n") // all cached
		if n := strings.Count(want, "* "); n != 6 {
			t.Fatalf("FETCH 1:* answered %d messages, want 6:\n%s", n, want)
		}
		for i, g := range got {
			if g != want {
				t.Errorf("listing %d, partly cached:\n%s\nwant (all cached):\n%s", i, g, want)
			}
		}
	})
}
