package imapd

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/smtpd/authcheck"
	"github.com/partnermail/partnermail/storage"
)

// seg is a piece of a section: bytes in memory, or a range of the blob.
type seg struct {
	mem    []byte
	off, n int64
}

func segsLen(segs []seg) int64 {
	var n int64
	for _, s := range segs {
		if s.mem != nil {
			n += int64(len(s.mem))
		} else {
			n += s.n
		}
	}
	return n
}

// partial cuts <offset.size> out of segs.
func partial(segs []seg, p *imap.SectionPartial) []seg {
	if p == nil {
		return segs
	}
	skip, left := p.Offset, p.Size
	var out []seg
	for _, s := range segs {
		n := s.n
		if s.mem != nil {
			n = int64(len(s.mem))
		}
		if skip >= n {
			skip -= n
			continue
		}
		take := min(n-skip, left)
		if s.mem != nil {
			out = append(out, seg{mem: s.mem[skip : skip+take]})
		} else {
			out = append(out, seg{off: s.off + skip, n: take})
		}
		skip, left = 0, left-take
		if left == 0 {
			break
		}
	}
	return out
}

func writeSegs(w io.Writer, b storage.Blob, segs []seg) error {
	for _, s := range segs {
		if s.mem != nil {
			if len(s.mem) == 0 {
				continue
			}
			if _, err := w.Write(s.mem); err != nil {
				return err
			}
			continue
		}
		if bb, ok := b.(byteBlob); ok && s.off+s.n <= int64(len(bb.data)) {
			if _, err := w.Write(bb.data[s.off : s.off+s.n]); err != nil {
				return err
			}
			continue
		}
		n, err := io.Copy(w, io.NewSectionReader(b, s.off, s.n))
		if err != nil {
			return err
		}
		if n != s.n {
			return fmt.Errorf("blob shorter than its layout (%d of %d bytes)", n, s.n)
		}
	}
	return nil
}

// header returns the view's header block (prefix, then the stored header
// without forged fields): in memory, or nil when it is too big.
func (mi *msgInfo) header(b storage.Blob, authservID string) ([]byte, error) {
	if mi.li.HeaderLen > maxHeaderMem {
		return nil, nil
	}
	h := make([]byte, mi.li.HeaderLen)
	if _, err := b.ReadAt(h, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if mi.strip && mi.li.Strip > 0 {
		h, _ = authcheck.StripForged(h, authservID)
	}
	return append(append([]byte(nil), mi.prefix()...), h...), nil
}

// headerSegs is the view's header block as segments.
func (mi *msgInfo) headerSegs(b storage.Blob, authservID string) ([]seg, error) {
	h, err := mi.header(b, authservID)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return []seg{{mem: mi.prefix()}, {off: 0, n: mi.li.HeaderLen}}, nil
	}
	return []seg{{mem: h}}, nil
}

// bodySection locates a BODY[...] section of the view.
func (mi *msgInfo) bodySection(b storage.Blob, sec *imap.FetchItemBodySection, authservID string) ([]seg, error) {
	size := b.Size()
	hl := min(mi.li.HeaderLen, size)
	fields := len(sec.HeaderFields) > 0 || len(sec.HeaderFieldsNot) > 0
	var segs []seg
	if len(sec.Part) == 0 {
		switch sec.Specifier {
		case imap.PartSpecifierNone:
			hs, err := mi.headerSegs(b, authservID)
			if err != nil {
				return nil, err
			}
			segs = append(hs, seg{off: hl, n: size - hl})
		case imap.PartSpecifierHeader:
			h, err := mi.header(b, authservID)
			if err != nil {
				return nil, err
			}
			switch {
			case fields:
				segs = []seg{{mem: filterFields(h, sec.HeaderFields, sec.HeaderFieldsNot)}}
			case h == nil:
				segs = []seg{{mem: mi.prefix()}, {off: 0, n: hl}}
			default:
				segs = []seg{{mem: h}}
			}
		case imap.PartSpecifierText:
			segs = []seg{{off: hl, n: size - hl}}
		default:
			segs = []seg{{mem: []byte{}}}
		}
		return partial(segs, sec.Partial), nil
	}
	p := mi.root.find(sec.Part)
	if p == nil {
		return []seg{{mem: []byte{}}}, nil
	}
	switch sec.Specifier {
	case imap.PartSpecifierNone:
		segs = []seg{{off: p.Body, n: p.End - p.Body}}
	case imap.PartSpecifierMIME:
		segs = []seg{{off: p.Hdr, n: p.Body - p.Hdr}}
	case imap.PartSpecifierHeader, imap.PartSpecifierText:
		m := p.Msg
		if m == nil {
			return []seg{{mem: []byte{}}}, nil
		}
		if sec.Specifier == imap.PartSpecifierText {
			segs = []seg{{off: m.Body, n: m.End - m.Body}}
			break
		}
		segs = []seg{{off: m.Hdr, n: m.Body - m.Hdr}}
		if fields {
			h := make([]byte, min(m.Body-m.Hdr, maxHeaderMem))
			if _, err := b.ReadAt(h, m.Hdr); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			segs = []seg{{mem: filterFields(h, sec.HeaderFields, sec.HeaderFieldsNot)}}
		}
	}
	for i := range segs { // a tree from a blob that changed must not read past it
		if segs[i].mem == nil {
			segs[i].off = min(segs[i].off, size)
			segs[i].n = max(0, min(segs[i].n, size-segs[i].off))
		}
	}
	return partial(segs, sec.Partial), nil
}

// filterFields keeps (or, with not, drops) the named fields of a header
// block; the result ends with the blank line.
func filterFields(h []byte, keep, drop []string) []byte {
	var out bytes.Buffer
	has := func(list []string, name string) bool {
		for _, n := range list {
			if strings.EqualFold(strings.TrimSpace(n), name) {
				return true
			}
		}
		return false
	}
	for rest := h; len(rest) > 0; {
		f := nextField(rest)
		rest = rest[len(f):]
		if len(bytes.TrimRight(f, "\r\n")) == 0 {
			break
		}
		name, _, ok := bytes.Cut(f, []byte(":"))
		if !ok {
			continue
		}
		n := strings.TrimSpace(string(name))
		if len(keep) > 0 && has(keep, n) || len(keep) == 0 && !has(drop, n) {
			out.Write(f)
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// nextField returns the first header field of b with its continuation
// lines.
func nextField(b []byte) []byte {
	end := 0
	for {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			return b
		}
		end += i + 1
		if end == len(b) || b[end] != ' ' && b[end] != '\t' || len(bytes.TrimRight(b[:end], "\r\n")) == 0 {
			return b[:end]
		}
	}
}

// decoded returns a reader of a part's content with its transfer
// encoding undone (BINARY).
func decoded(b storage.Blob, p *part) (io.Reader, error) {
	r := io.Reader(io.NewSectionReader(b, p.Body, p.End-p.Body))
	switch p.Enc {
	case "", "7bit", "8bit", "binary":
		return r, nil
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &b64Filter{r: r}), nil
	case "quoted-printable":
		return quotedprintable.NewReader(r), nil
	}
	return nil, errNo(imap.ResponseCodeUnknownCTE, "Unknown Content-Transfer-Encoding "+p.Enc)
}

// b64Filter drops what base64 decoding must skip: line ends, spaces and
// anything else outside the alphabet.
type b64Filter struct{ r io.Reader }

func (f *b64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		w := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[w] = c
				w++
			}
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}
