package imapd

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// part is one MIME entity of a stored message, located by byte offsets
// into the raw blob, so any section can be served from the blob with a
// SectionReader. It is what BODYSTRUCTURE is built from and is cached as
// JSON.
type part struct {
	Hdr        int64             `json:"h"`           // header start
	Body       int64             `json:"b"`           // body start
	End        int64             `json:"e"`           // body end
	Lines      int64             `json:"l,omitempty"` // text lines of the body
	Type       string            `json:"t"`
	Sub        string            `json:"s"`
	Params     map[string]string `json:"p,omitempty"`
	ID         string            `json:"id,omitempty"`
	Desc       string            `json:"de,omitempty"`
	Enc        string            `json:"en,omitempty"`
	MD5        string            `json:"md,omitempty"`
	Disp       string            `json:"di,omitempty"`
	DispParams map[string]string `json:"dp,omitempty"`
	Lang       []string          `json:"la,omitempty"`
	Loc        string            `json:"lo,omitempty"`
	Kids       []*part           `json:"k,omitempty"` // multipart children
	Msg        *part             `json:"m,omitempty"` // message/rfc822: the message inside
	Env        *imap.Envelope    `json:"v,omitempty"` // of a message (the root, or Msg)
}

func (p *part) multipart() bool { return p.Type == "multipart" && len(p.Kids) > 0 }

const maxPartHeader = 256 << 10

// mimeScanner reads a message line by line, counting offsets and lines.
type mimeScanner struct {
	r       *bufio.Reader
	off     int64
	nl      int64
	cont    bool // the last chunk ended inside a line
	line    []byte
	start   int64 // offset of line
	atStart bool  // line begins a line (not the rest of a long one)
	eol     int   // length of line's terminator
	prevEOL int   // terminator length of the line before
}

// term is how a part ended: at a boundary of the enclosing multiparts
// (idx into the boundary stack) or at the end of the message (idx -1).
type term struct {
	idx       int
	closing   bool
	lineStart int64
	prevEOL   int
	nlBefore  int64
}

func (sc *mimeScanner) next() bool {
	sc.prevEOL = sc.eol
	line, err := sc.r.ReadSlice('\n')
	if len(line) == 0 {
		_ = err
		return false
	}
	sc.atStart = !sc.cont
	sc.start = sc.off
	sc.off += int64(len(line))
	sc.line = line
	sc.eol = 0
	if line[len(line)-1] == '\n' {
		sc.nl++
		sc.cont = false
		sc.eol = 1
		if len(line) > 1 && line[len(line)-2] == '\r' {
			sc.eol = 2
		}
	} else {
		sc.cont = true
	}
	return true
}

// boundary reports whether the current line is a boundary of bounds.
func (sc *mimeScanner) boundary(bounds [][]byte) (term, bool) {
	if !sc.atStart || len(sc.line) < 3 || sc.line[0] != '-' || sc.line[1] != '-' || len(bounds) == 0 {
		return term{}, false
	}
	t := bytes.TrimRight(sc.line[2:], " \t\r\n")
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(t, b) {
			continue
		}
		rest := t[len(b):]
		if len(rest) == 0 || string(rest) == "--" {
			nl := sc.nl
			if sc.eol > 0 {
				nl--
			}
			return term{idx: i, closing: len(rest) > 0, lineStart: sc.start, prevEOL: sc.prevEOL, nlBefore: nl}, true
		}
	}
	return term{}, false
}

func (sc *mimeScanner) skip(bounds [][]byte) term {
	for sc.next() {
		if t, ok := sc.boundary(bounds); ok {
			return t
		}
	}
	return term{idx: -1}
}

// parseStructure reads a whole message and returns its part tree.
func parseStructure(r io.Reader) *part {
	sc := &mimeScanner{r: bufio.NewReaderSize(r, 64<<10)}
	p, _ := sc.parsePart(nil, false, true)
	return p
}

func (sc *mimeScanner) parsePart(bounds [][]byte, digest, message bool) (*part, term) {
	p := &part{Hdr: sc.off}
	var hdr []byte
	for {
		if !sc.next() {
			p.Body, p.End = sc.off, sc.off
			p.setHeader(hdr, digest, message)
			return p, term{idx: -1}
		}
		if t, ok := sc.boundary(bounds); ok {
			p.Body, p.End = sc.start, sc.start
			p.setHeader(hdr, digest, message)
			return p, t
		}
		if sc.atStart && (sc.eol == len(sc.line)) {
			p.Body = sc.off
			break
		}
		if len(hdr) < maxPartHeader {
			hdr = append(hdr, sc.line...)
		}
	}
	p.setHeader(hdr, digest, message)
	nlBody := sc.nl
	var t term
	switch {
	case p.Type == "multipart" && p.Params["boundary"] != "":
		inner := append(bounds[:len(bounds):len(bounds)], []byte(p.Params["boundary"]))
		me := len(inner) - 1
		t = sc.skip(inner)
		for t.idx == me && !t.closing {
			var kid *part
			kid, t = sc.parsePart(inner, p.Sub == "digest", false)
			p.Kids = append(p.Kids, kid)
		}
		if t.idx == me {
			t = sc.skip(bounds)
		}
	case p.Type == "message" && (p.Sub == "rfc822" || p.Sub == "global"):
		p.Msg, t = sc.parsePart(bounds, false, true)
	default:
		t = sc.skip(bounds)
	}
	if t.idx < 0 {
		p.End = sc.off
		p.Lines = sc.nl - nlBody
	} else {
		p.End = max(p.Body, t.lineStart-int64(t.prevEOL))
		n := t.nlBefore - nlBody
		if t.prevEOL > 0 {
			n--
		}
		p.Lines = max(0, n)
	}
	if p.Type == "multipart" && len(p.Kids) == 0 { // no boundary found: show it as text
		p.Type, p.Sub, p.Params = "text", "plain", nil
	}
	return p, t
}

// setHeader fills the MIME fields of p from its raw header.
func (p *part) setHeader(raw []byte, digest, message bool) {
	h, _ := textproto.ReadHeader(bufio.NewReader(io.MultiReader(bytes.NewReader(raw), strings.NewReader("\r\n"))))
	mh := gomessage.Header{Header: h}
	t, params, err := mh.ContentType()
	if err != nil || t == "" || !strings.Contains(t, "/") {
		t, params = "text/plain", map[string]string{"charset": "us-ascii"}
		if digest {
			t, params = "message/rfc822", nil
		}
	}
	p.Type, p.Sub, _ = strings.Cut(strings.ToLower(t), "/")
	if len(params) > 0 {
		p.Params = params
	}
	p.ID = h.Get("Content-Id")
	p.Desc = h.Get("Content-Description")
	p.Enc = strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	p.MD5 = h.Get("Content-Md5")
	if d, dp, err := mh.ContentDisposition(); err == nil && d != "" {
		p.Disp = d
		if len(dp) > 0 {
			p.DispParams = dp
		}
	}
	if v := h.Get("Content-Language"); v != "" {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				p.Lang = append(p.Lang, l)
			}
		}
	}
	p.Loc = h.Get("Content-Location")
	if message {
		p.Env = extractEnvelope(h)
	}
}

// bodyStructure converts the tree to what imapserver writes.
func (p *part) bodyStructure() imap.BodyStructure {
	if p.multipart() {
		bs := &imap.BodyStructureMultiPart{Subtype: p.Sub, Extended: &imap.BodyStructureMultiPartExt{
			Params: p.Params, Disposition: p.disposition(), Language: p.Lang, Location: p.Loc,
		}}
		for _, k := range p.Kids {
			bs.Children = append(bs.Children, k.bodyStructure())
		}
		return bs
	}
	params := p.Params
	if p.Type == "text" && len(params) == 0 {
		// RFC 2045 section 5.2's default, as Dovecot and Cyrus show it.
		params = map[string]string{"charset": "us-ascii"}
	}
	bs := &imap.BodyStructureSinglePart{
		Type: p.Type, Subtype: p.Sub, Params: params, ID: p.ID, Description: p.Desc,
		Encoding: p.Enc, Size: uint32(min(p.End-p.Body, 1<<32-1)),
		Extended: &imap.BodyStructureSinglePartExt{Disposition: p.disposition(), Language: p.Lang, Location: p.Loc},
	}
	switch {
	case p.Msg != nil:
		env := p.Msg.Env
		if env == nil {
			env = &imap.Envelope{}
		}
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{Envelope: env, BodyStructure: p.Msg.bodyStructure(), NumLines: p.Lines}
	case p.Type == "text":
		bs.Text = &imap.BodyStructureText{NumLines: p.Lines}
	}
	return bs
}

func (p *part) disposition() *imap.BodyStructureDisposition {
	if p.Disp == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: p.Disp, Params: p.DispParams}
}

// find resolves a section part number ("1.2.3") from the root.
func (p *part) find(path []int) *part {
	cur := p
	for i, n := range path {
		if i > 0 && cur.Msg != nil {
			cur = cur.Msg
		}
		switch {
		case cur.multipart():
			if n < 1 || n > len(cur.Kids) {
				return nil
			}
			cur = cur.Kids[n-1]
		case n != 1:
			return nil
		}
	}
	return cur
}
