package mimewalk

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// TNEF ([MS-OXTNEF]) is the container Outlook and Exchange send as
// winmail.dat. Only what attachments need is decoded here: the stream is a
// signature, a legacy key and then records of
//
//	level (1) | attribute id (4, LE) | length (4, LE) | data | checksum (2)
//
// An attachment starts with attAttachRendData; attAttachTitle carries its
// 8.3 name, attAttachData its bytes, attAttachment its MAPI properties,
// among them PR_ATTACH_LONG_FILENAME. Attachment data is streamed, never
// held in memory.

const (
	tnefSignature = 0x223E9F78

	tnefLevelMessage    = 0x01
	tnefLevelAttachment = 0x02

	attAttachRendData = 0x00069002
	attAttachTitle    = 0x00018010
	attAttachData     = 0x0006800F
	attAttachment     = 0x00069005

	prAttachLongFilename = 0x3707
	ptString8            = 0x001E
	ptUnicode            = 0x001F

	// tnefMaxSmall bounds the records read into memory (titles, MAPI
	// property blocks); larger ones are skipped.
	tnefMaxSmall = 1 << 20
	// tnefMaxRecords bounds the work one winmail.dat can cause.
	tnefMaxRecords = 100000
)

// errTNEF marks a malformed TNEF stream.
var errTNEF = errors.New("malformed TNEF")

// tnefFileFunc receives one file of a TNEF stream; it must consume data or
// return an error. rename later gives the file its long name when the MAPI
// properties carry one.
type tnefFileFunc func(name string, data io.Reader) (rename func(string), err error)

// decodeTNEF walks a TNEF stream and calls file for each attachment's data.
// It returns errTNEF (wrapped) for malformed input; files already passed to
// file stay passed.
func decodeTNEF(r io.Reader, file tnefFileFunc) error {
	br := bufio.NewReaderSize(r, 32<<10)
	var hdr [6]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return fmt.Errorf("%w: short header", errTNEF)
	}
	if binary.LittleEndian.Uint32(hdr[:4]) != tnefSignature {
		return fmt.Errorf("%w: bad signature", errTNEF)
	}
	var (
		title  string
		rename func(string)
		inAtt  bool
	)
	for n := 0; ; n++ {
		if n > tnefMaxRecords {
			return fmt.Errorf("%w: too many records", errTNEF)
		}
		var rec [9]byte
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("%w: truncated record header", errTNEF)
		}
		level, id, size := rec[0], binary.LittleEndian.Uint32(rec[1:5]), int64(binary.LittleEndian.Uint32(rec[5:9]))
		if level != tnefLevelMessage && level != tnefLevelAttachment {
			return fmt.Errorf("%w: bad level %d", errTNEF, level)
		}
		body := &io.LimitedReader{R: br, N: size}
		switch {
		case level == tnefLevelAttachment && id == attAttachRendData:
			inAtt, title, rename = true, "", nil
		case level == tnefLevelAttachment && id == attAttachTitle && size <= tnefMaxSmall:
			b, err := io.ReadAll(body)
			if err != nil {
				return fmt.Errorf("%w: %w", errTNEF, err)
			}
			title = strings.TrimRight(string(b), "\x00")
		case level == tnefLevelAttachment && id == attAttachData:
			if !inAtt {
				title, rename = "", nil
			}
			cr := &countReader{r: body}
			rn, err := file(title, cr)
			if err != nil {
				return err
			}
			if cr.n < size || body.N > 0 {
				return fmt.Errorf("%w: truncated attachment data", errTNEF)
			}
			rename = rn
		case level == tnefLevelAttachment && id == attAttachment && size <= tnefMaxSmall:
			b, err := io.ReadAll(body)
			if err != nil {
				return fmt.Errorf("%w: %w", errTNEF, err)
			}
			if name := mapiLongFilename(b); name != "" && rename != nil {
				rename(name)
			}
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("%w: %w", errTNEF, err)
		}
		if body.N > 0 {
			return fmt.Errorf("%w: truncated record", errTNEF)
		}
		var sum [2]byte // checksum; not verified (Outlook's are not always right)
		if _, err := io.ReadFull(br, sum[:]); err != nil {
			return fmt.Errorf("%w: missing checksum", errTNEF)
		}
	}
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// mapiLongFilename finds PR_ATTACH_LONG_FILENAME in an attAttachment MAPI
// property block ([MS-OXTNEF] section 2.1.3.4). It returns "" when the
// property is absent or the block is malformed.
func mapiLongFilename(b []byte) string {
	p := mapiParser{b: b}
	count := p.u32()
	for i := uint32(0); i < count && p.ok(); i++ {
		typ, id := p.u16(), p.u16()
		if id >= 0x8000 { // named property: GUID, kind, id or name
			p.skip(16)
			if kind := p.u32(); kind == 0 {
				p.skip(4)
			} else {
				p.skip(pad4(int(p.u32())))
			}
		}
		multi := typ&0x1000 != 0
		base := typ &^ 0x1000
		values := uint32(1)
		if multi || isVarMAPI(base) {
			values = p.u32()
		}
		for v := uint32(0); v < values && p.ok(); v++ {
			if isVarMAPI(base) {
				n := int(p.u32())
				val := p.take(n)
				p.skip(pad4(n) - n)
				if id == prAttachLongFilename && p.ok() {
					return decodeMAPIString(base, val)
				}
				continue
			}
			p.skip(fixedMAPISize(base))
		}
	}
	return ""
}

func isVarMAPI(t uint16) bool {
	return t == ptString8 || t == ptUnicode || t == 0x0102 || t == 0x000D
}

func fixedMAPISize(t uint16) int {
	switch t {
	case 0x0005, 0x0006, 0x0007, 0x0014, 0x0040:
		return 8
	case 0x0048:
		return 16
	default:
		return 4
	}
}

func decodeMAPIString(t uint16, b []byte) string {
	if t == ptUnicode {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return strings.TrimRight(string(utf16.Decode(u)), "\x00")
	}
	return strings.TrimRight(string(b), "\x00")
}

func pad4(n int) int { return (n + 3) &^ 3 }

// mapiParser reads little-endian values with bounds checks; after the first
// out-of-range read every later read returns zero and ok reports false.
type mapiParser struct {
	b   []byte
	off int
	bad bool
}

func (p *mapiParser) ok() bool { return !p.bad }

func (p *mapiParser) take(n int) []byte {
	if p.bad || n < 0 || n > len(p.b)-p.off {
		p.bad = true
		return nil
	}
	s := p.b[p.off : p.off+n]
	p.off += n
	return s
}

func (p *mapiParser) skip(n int) { p.take(n) }

func (p *mapiParser) u16() uint16 {
	if s := p.take(2); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (p *mapiParser) u32() uint32 {
	if s := p.take(4); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}
