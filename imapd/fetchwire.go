package imapd

import (
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// fetchWire writes the FETCH responses of the two requests that list a
// whole folder — ENVELOPE alone and FLAGS alone (each with or without
// UID) — and those of STORE, without imapserver's FetchWriter: that one
// builds every quoted string in a new strings.Builder, takes a lock,
// sets two deadlines and flushes per message, and was a third of the
// time of a 100,000-message listing. The bytes are the ones imapserver
// writes (RFC 9051 section 7.5.2, checked by TestEnvelopeGolden and
// TestFetchWireFlags), appended to one buffer that goes to the
// connection in 32 KB writes.
//
// It writes straight to the connection: imapserver has flushed what it
// wrote before calling Fetch or Store (it flushes after every response
// line) and writes nothing more until they return, by which time flush
// has sent everything. With Config.Debug set, the bytes go there too, as
// imapserver's do.
type fetchWire struct {
	conn io.Writer
	buf  []byte
	utf8 bool // IMAP4rev2 or UTF8=ACCEPT enabled: UTF-8 may be quoted
	err  error
}

// newFetchWire is the fetchWire of the session's connection; the caller
// flushes it when done.
func (s *session) newFetchWire() *fetchWire {
	caps := s.conn.EnabledCaps()
	w := &fetchWire{conn: s.conn.NetConn(), utf8: caps.Has(imap.CapIMAP4rev2) || caps.Has(imap.CapUTF8Accept)}
	if d := s.srv.cfg.Debug; d != nil {
		w.conn = io.MultiWriter(w.conn, d)
	}
	return w
}

// start appends the head of one message's FETCH response.
func (w *fetchWire) start(seq, uid uint32, withUID bool) []byte {
	b := append(w.buf, "* "...)
	b = strconv.AppendUint(b, uint64(seq), 10)
	b = append(b, " FETCH ("...)
	if withUID {
		b = append(b, "UID "...)
		b = strconv.AppendUint(b, uint64(uid), 10)
	}
	return b
}

// end closes the response begun by start.
func (w *fetchWire) end(b []byte) error {
	w.buf = append(b, ")\r\n"...)
	if len(w.buf) >= writeBuf {
		return w.flush()
	}
	return w.err
}

// message appends the FETCH response of one message: its ENVELOPE.
func (w *fetchWire) message(seq, uid uint32, withUID bool, e *imap.Envelope) error {
	b := w.start(seq, uid, withUID)
	if withUID {
		b = append(b, ' ')
	}
	b = append(b, "ENVELOPE "...)
	return w.end(w.envelope(b, e))
}

// flags appends the FETCH response of one message: its FLAGS when
// withFlags. A stored flag that is not a valid flag atom is left out
// (imapserver would fail the whole response on it).
func (w *fetchWire) flags(seq, uid uint32, withUID, withFlags bool, flags []string) error {
	b := w.start(seq, uid, withUID)
	if withFlags {
		if withUID {
			b = append(b, ' ')
		}
		b = append(b, "FLAGS ("...)
		n := 0
		for _, f := range flags {
			if !validFlag(f) {
				continue
			}
			if n > 0 {
				b = append(b, ' ')
			}
			b = append(b, f...)
			n++
		}
		b = append(b, ')')
	}
	return w.end(b)
}

// validFlag is imapwire's: an atom, or a backslash and an atom.
func validFlag(f string) bool {
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c == '\\' && i == 0:
		case c < 0x20 || c == 0x7f || strings.IndexByte(`(){ %*"\\]`, c) >= 0:
			return false
		}
	}
	return len(f) > 0
}

// flush sends what is buffered.
func (w *fetchWire) flush() error {
	if len(w.buf) > 0 && w.err == nil {
		_, w.err = w.conn.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return w.err
}

// envelopeDateLayout is imapserver's.
const envelopeDateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// envelope appends e as imapserver's writeEnvelope does.
func (w *fetchWire) envelope(b []byte, e *imap.Envelope) []byte {
	sender, replyTo := e.Sender, e.ReplyTo
	if sender == nil {
		sender = e.From
	}
	if replyTo == nil {
		replyTo = e.From
	}
	b = append(b, '(')
	if e.Date.IsZero() {
		b = append(b, "NIL"...)
	} else { // always valid quoted: ASCII, no quote or backslash
		b = append(b, '"')
		b = appendEnvelopeDate(b, e.Date)
		b = append(b, '"')
	}
	b = append(b, ' ')
	b = w.nstring(b, encodeText(e.Subject), "", "")
	for _, l := range [...][]imap.Address{e.From, sender, replyTo, e.To, e.Cc, e.Bcc} {
		b = append(b, ' ')
		b = w.addresses(b, l)
	}
	b = append(b, ' ')
	switch len(e.InReplyTo) {
	case 0:
		b = append(b, "NIL"...)
	case 1:
		b = w.nstring(b, e.InReplyTo[0], "<", ">")
	default:
		s := e.InReplyTo[0]
		for _, id := range e.InReplyTo[1:] {
			s += "> <" + id
		}
		b = w.nstring(b, s, "<", ">")
	}
	b = append(b, ' ')
	if e.MessageID == "" {
		b = append(b, "NIL"...)
	} else {
		b = w.nstring(b, e.MessageID, "<", ">")
	}
	return append(b, ')')
}

func (w *fetchWire) addresses(b []byte, l []imap.Address) []byte {
	if len(l) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i, a := range l {
		if i > 0 {
			b = append(b, ' ')
		}
		b = w.address(b, a.Name, a.Mailbox, a.Host)
	}
	return append(b, ')')
}

// address appends one address of an address list.
func (w *fetchWire) address(b []byte, name, mailbox, host string) []byte {
	b = append(b, '(')
	b = w.nstring(b, encodeText(name), "", "")
	b = append(b, " NIL "...)
	b = w.nstring(b, mailbox, "", "")
	b = append(b, ' ')
	b = w.nstring(b, host, "", "")
	return append(b, ')')
}

// nstring appends pre+s+post as imapwire does a string (NIL when all
// three are empty): quoted when it may be, else a literal. pre and post
// are ASCII without quotes, backslashes or line ends.
func (w *fetchWire) nstring(b []byte, s, pre, post string) []byte {
	if s == "" && pre == "" && post == "" {
		return append(b, "NIL"...)
	}
	quotable, escapes := w.scan(s, len(pre)+len(post))
	if !quotable {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(pre)+len(s)+len(post)), 10)
		b = append(b, "}\r\n"...)
		return append(append(append(b, pre...), s...), post...)
	}
	b = append(b, '"')
	b = append(b, pre...)
	if escapes == 0 { // nearly always: the string goes in one copy
		b = append(b, s...)
	} else {
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
		}
	}
	b = append(b, post...)
	return append(b, '"')
}

// scan reports whether a string of s and extra more quotable bytes may
// be quoted (imapwire's validQuoted), and how many of s's bytes a quoted
// string escapes.
func (w *fetchWire) scan(s string, extra int) (quotable bool, escapes int) {
	if len(s)+extra > 4096 {
		return false, 0
	}
	c := class(s)
	if c&classLiteral != 0 || c&class8bit != 0 && !w.utf8 {
		return false, 0
	}
	if c&classEscape == 0 {
		return true, 0
	}
	for i := 0; i < len(s); i++ {
		if byteClass[s[i]]&classEscape != 0 {
			escapes++
		}
	}
	return true, escapes
}
