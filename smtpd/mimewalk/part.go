package mimewalk

import (
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// alt tracks one multipart/alternative: only its first text/plain and
// first text/html count.
type alt struct{ plain, html bool }

// signatureTypes are the second parts of multipart/signed: part of the
// message's structure, not files the sender attached.
var signatureTypes = map[string]bool{
	"application/pkcs7-signature":   true,
	"application/x-pkcs7-signature": true,
	"application/pgp-signature":     true,
}

// entity handles one MIME entity whose header is h and whose (still
// transfer-encoded) body is body. parent is the media type of the enclosing
// multipart.
func (wk *walk) entity(body io.Reader, h textproto.Header, depth int, parent string, a *alt) error {
	ct, params := wk.contentType(h)
	if parent == "multipart/digest" && h.Get("Content-Type") == "" {
		ct = "message/rfc822" // RFC 2046 section 5.1.5
	}
	disp, dparams := wk.disposition(h)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if strings.HasPrefix(ct, "multipart/") {
		if params["boundary"] != "" {
			return wk.multipart(body, ct, params["boundary"], depth)
		}
		wk.defect("%s without boundary, read as text", ct)
		ct = "text/plain"
	}
	isFile := disp == "attachment" || name != ""
	switch {
	case parent == "multipart/report" && (strings.HasPrefix(ct, "message/") || ct == "text/rfc822-headers"):
		if ct == "message/delivery-status" || ct == "message/global-delivery-status" {
			wk.readText(wk.decode(body, h), "utf-8", &wk.dsn)
		}
		return nil // the returned message stays in the raw copy only
	case parent == "multipart/signed" && signatureTypes[ct]:
		return nil
	case (ct == "text/plain" || ct == "text/html") && !isFile:
		dst := &wk.text
		if ct == "text/html" {
			if (a != nil && a.html) || wk.html.set {
				return nil
			}
			dst = &wk.html
			if a != nil {
				a.html = true
			}
		} else if a != nil {
			if a.plain {
				return nil
			}
			a.plain = true
		}
		wk.readText(wk.decode(body, h), params["charset"], dst)
		return nil
	case strings.HasPrefix(ct, "text/") && !isFile:
		return nil // inline text/calendar, text/enriched…: kept in the raw copy
	}
	if ct == "message/rfc822" || ct == "message/global" {
		// A forwarded email: refused whatever its bytes sniff as (it is
		// not in SPEC's list), with a text that says what it is.
		return wk.refuse(cleanName(name), "message/rfc822")
	}
	return wk.attachment(wk.decode(body, h), cleanName(name))
}

func (wk *walk) multipart(body io.Reader, ct, boundary string, depth int) error {
	if depth >= wk.w.cfg.MaxDepth {
		return formatErr("MIME parts are nested too deeply", nil)
	}
	g := &guard{r: body, budget: -1}
	mr := textproto.NewMultipartReader(g, boundary)
	var a *alt
	if ct == "multipart/alternative" {
		a = &alt{}
	}
	for {
		g.limit(wk.w.cfg.MaxHeaderBytes)
		p, err := mr.NextPart()
		g.unlimit()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			switch {
			case g.over:
				return formatErr("a MIME part header is larger than the limit", err)
			case wk.src.err != nil:
				return err
			case wk.src.eof:
				wk.defect("%s ends without its closing boundary", ct)
				return nil
			}
			return formatErr("the MIME structure is malformed", err)
		}
		wk.parts++
		if wk.parts > wk.w.cfg.MaxParts {
			return formatErr("the message has too many MIME parts", nil)
		}
		if err := wk.entity(p, p.Header, depth+1, ct, a); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, p); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
	}
}

func (wk *walk) contentType(h textproto.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if v == "" {
		return "text/plain", nil
	}
	t, params, err := mime.ParseMediaType(v)
	if err != nil {
		// Mail clients are lenient here, so we must be too, or parts they
		// show could slip past the policy: keep what can be read.
		t, params = lenientMediaType(v)
		wk.defect("malformed Content-Type %.80q", v)
		if t == "" {
			return "application/octet-stream", nil // RFC 2045 says text/plain; octet-stream keeps the policy in force
		}
	}
	return strings.ToLower(t), wk.decodeParams(params)
}

func (wk *walk) disposition(h textproto.Header) (string, map[string]string) {
	v := h.Get("Content-Disposition")
	if v == "" {
		return "", map[string]string{}
	}
	d, params, err := mime.ParseMediaType(v)
	if err != nil { // "attachment; filename=a b.pdf" and friends: keep the intent
		d, params = lenientMediaType(v)
	}
	return strings.ToLower(d), wk.decodeParams(params)
}

// lenientMediaType reads "type; key=value; key="value"" the way mail
// clients do when mime.ParseMediaType gives up: the first value of each
// key wins, quotes are optional, a missing closing quote ends the value at
// the end of the field.
func lenientMediaType(v string) (string, map[string]string) {
	t, rest, _ := strings.Cut(v, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	if strings.ContainsAny(t, " \t\"=") {
		t = ""
	}
	params := map[string]string{}
	for rest != "" {
		var kv string
		rest = strings.TrimLeft(rest, " \t\r\n;")
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		after = strings.TrimLeft(after, " \t")
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				kv, rest = after[1:], ""
			} else {
				kv, rest = after[1:1+end], after[2+end:]
			}
		} else {
			kv, rest, _ = strings.Cut(after, ";")
			kv = strings.TrimSpace(kv)
		}
		if k != "" {
			if _, seen := params[k]; !seen {
				params[k] = kv
			}
		}
	}
	return t, params
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

func (wk *walk) decodeParams(params map[string]string) map[string]string {
	if params == nil {
		return map[string]string{}
	}
	for k, v := range params {
		if s, err := wordDecoder.DecodeHeader(v); err == nil {
			params[k] = s
		}
	}
	return params
}

// decode undoes the Content-Transfer-Encoding.
func (wk *walk) decode(body io.Reader, h textproto.Header) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return newBase64(body, wk)
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	default:
		return body
	}
}

// readText decodes the charset of a text body into dst, best-effort: an
// unknown charset or a decoding error keeps what could be read.
func (wk *walk) readText(r io.Reader, cs string, dst *capture) {
	dst.start(wk.w.cfg.MaxTextBytes)
	cs = strings.ToLower(strings.TrimSpace(cs))
	if cs != "" && cs != "utf-8" && cs != "us-ascii" && cs != "utf8" {
		cr, err := charset.Reader(cs, r)
		if err != nil {
			wk.defect("unknown charset %.40q, text kept undecoded", cs)
		} else {
			r = cr
		}
	}
	if _, err := io.Copy(dst, r); err != nil && wk.src.err == nil {
		wk.defect("text body: %v", err)
	}
}

// capture keeps up to max bytes of text.
type capture struct {
	b   strings.Builder
	max int
	set bool
	cut bool
}

func (c *capture) start(max int) {
	if c.set && c.b.Len() > 0 && c.b.Len() < max {
		c.b.WriteByte('\n')
	}
	c.set, c.max = true, max
}

func (c *capture) Write(p []byte) (int, error) {
	room := c.max - c.b.Len()
	if len(p) > room {
		c.cut = true
		c.b.Write(p[:max(room, 0)])
		return len(p), nil
	}
	c.b.Write(p)
	return len(p), nil
}

// String returns the text with invalid UTF-8 replaced; a replacement
// (3 bytes) can be longer than what it replaces, so the result is cut
// again to max, on a character boundary.
func (c *capture) String() string {
	s := strings.ToValidUTF8(c.b.String(), "\uFFFD")
	if len(s) > c.max && c.max > 0 {
		c.cut = true
		s = s[:c.max]
		if r, size := utf8.DecodeLastRuneInString(s); r == utf8.RuneError && size == 1 {
			_, size = lastRune(s) // the cut split the last character
			s = s[:len(s)-size]
		}
	}
	return s
}

// cleanName makes a sent file name safe to store and show: no path, no
// control characters, at most 200 bytes.
func cleanName(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	for len(s) > 200 {
		_, size := lastRune(s)
		s = s[:len(s)-size]
	}
	return s
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0x80 || s[i] >= 0xC0 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

// FormatError means the message could not be walked safely: a header or
// MIME structure that would let parts slip past the policy unseen. Msg is
// safe to show to the sender; Err is the cause, for the log only.
type FormatError struct {
	Msg      string
	Err      error
	Code     int
	Enhanced [3]int
}

func (e *FormatError) Error() string { return e.Msg }
func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(msg string, cause error) *FormatError {
	return &FormatError{Msg: msg, Err: cause, Code: 554, Enhanced: [3]int{5, 6, 0}}
}

// SMTPStatus maps a Walk error to the SMTP reply the listener should send.
// ok is false for errors the sender must not see (storage, I/O): reply
// 451 4.3.0 and log the error.
func SMTPStatus(err error) (code int, enhanced [3]int, text string, ok bool) {
	var pe *PolicyError
	if errors.As(err, &pe) {
		return pe.Code, pe.Enhanced, pe.Error(), true
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.Code, fe.Enhanced, fe.Msg, true
	}
	return 0, [3]int{}, "", false
}
