package mimewalk

import (
	"bytes"
	"encoding/base64"
	"io"
)

// A base64 reader takes in up to b64small bytes of encoded input at a
// time, and b64chunk once the part has proved longer than that (most
// base64 parts are small: a logo, an HTML body).
const (
	b64small = 8 << 10
	b64chunk = 64 << 10
)

// b64reader decodes base64 leniently, a buffer at a time: per RFC 2045
// section 6.8 characters outside the alphabet are ignored; the data ends
// at the first "="; a last incomplete quantum is padded (2 or 3
// characters) or dropped (1 character, recorded as a defect). So
// malformed base64 decodes to what is parseable and never fails; only an
// error of the underlying reader comes through.
//
// Well-formed input (whole lines of the alphabet) is decoded as it is,
// line breaks included; anything else goes through a filter first.
type b64reader struct {
	r    io.Reader
	wk   *walk  // for defects; may be nil
	in   []byte // encoded input; a quantum's worth of room past the chunk for the padding
	nc   int    // input carried over at the start of in, none of it "="
	out  []byte // decoded but not yet returned, when the caller's buffer was small
	dec  []byte // backing array of out
	end  bool   // "=" seen: the data is over
	long bool   // a read filled in: the part is long, use b64chunk
	err  error  // sticky: io.EOF or the read error
}

func newBase64(r io.Reader, wk *walk) io.Reader {
	return &b64reader{r: r, wk: wk, in: make([]byte, b64small+4)}
}

// b64alphabet marks the characters of the base64 alphabet (RFC 4648 Table 1).
var b64alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()

func (b *b64reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(b.out) > 0 {
			n := copy(p, b.out)
			b.out = b.out[n:]
			return n, nil
		}
		if b.err != nil {
			return 0, b.err
		}
		if b.long && len(b.in) < b64chunk+4 {
			in := make([]byte, b64chunk+4)
			copy(in, b.in[:b.nc])
			b.in = in
		}
		// Decode straight into p when it can hold all a chunk decodes to
		// (at most 3 bytes for every 4 of input).
		chunk := len(b.in) - 4
		want := min(chunk, len(p)/3*4) - b.nc
		direct := want >= 4
		if !direct {
			want = chunk - b.nc
		}
		dst := p
		if !direct {
			if len(b.dec) < len(b.in)/4*3 {
				b.dec = make([]byte, len(b.in)/4*3)
			}
			dst = b.dec
		}
		n, ok := b.decode(dst, want)
		if !ok {
			continue
		}
		if direct {
			return n, nil
		}
		b.out = dst[:n]
	}
}

// decode reads up to want more bytes of input and decodes what it can into
// dst. ok is false when there was nothing to decode yet.
func (b *b64reader) decode(dst []byte, want int) (int, bool) {
	w := b.nc
	var err error
	for w < b.nc+want && err == nil {
		var n int
		n, err = b.r.Read(b.in[w : b.nc+want])
		w += n
		if n == 0 && err == nil {
			break // let the caller retry rather than spin here
		}
	}
	b.long = b.long || w == len(b.in)-4
	if err == nil {
		if cut, ok := b.wellFormed(w); ok {
			if n, derr := base64.StdEncoding.Decode(dst, b.in[:cut]); derr == nil {
				b.nc = copy(b.in, b.in[cut:w])
				return n, n > 0
			}
		}
	}
	full := b.filter(w, err)
	n, derr := base64.StdEncoding.Decode(dst, b.in[:full])
	if derr != nil { // cannot happen: filter leaves only padded quanta of the alphabet
		b.err = derr
	}
	b.nc = copy(b.in, b.in[full:full+b.nc])
	return n, n > 0 || b.err != nil
}

// wellFormed reports whether in[:cut], the whole lines of in[:w], may be
// given to Decode as they are: no "=" in all of in[:w] (the end of the
// data goes through filter) and a whole number of quanta once line breaks
// are left out. Decode itself then refuses any other stray character.
func (b *b64reader) wellFormed(w int) (cut int, ok bool) {
	in := b.in[:w]
	if bytes.IndexByte(in, '=') >= 0 {
		return 0, false
	}
	cut = bytes.LastIndexByte(in, '\n') + 1
	n := cut - bytes.Count(in[:cut], []byte{'\n'}) - bytes.Count(in[:cut], []byte{'\r'})
	return cut, cut > 0 && n%4 == 0
}

// filter keeps only the alphabet of in[:w], in place, and returns how many
// bytes at the start of in are whole quanta to decode; the rest (b.nc, at
// most 3) is carried over. At the end of the data (an "=", or err) the
// last quantum is padded or dropped and b.err is set.
func (b *b64reader) filter(w int, err error) int {
	k := 0
	for _, c := range b.in[:w] {
		if b64alphabet[c] {
			b.in[k] = c
			k++
		} else if c == '=' {
			b.end = true
			break
		}
	}
	full := k &^ 3
	b.nc = k - full
	if err == nil && !b.end {
		return full
	}
	switch b.nc {
	case 1:
		if b.wk != nil {
			b.wk.defect("base64 data ends with a lone character")
		}
	case 2, 3:
		copy(b.in[full+b.nc:full+4], "==")
		full += 4
	}
	b.nc = 0
	if err == nil {
		err = io.EOF
	}
	b.err = err
	return full
}
