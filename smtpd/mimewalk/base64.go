package mimewalk

import (
	"encoding/base64"
	"io"
)

// b64chunk is how much encoded input a base64 reader takes in at a time.
const b64chunk = 64 << 10

// b64reader decodes base64 leniently, a buffer at a time: per RFC 2045
// section 6.8 characters outside the alphabet are ignored; the data ends
// at the first "="; a last incomplete quantum is padded (2 or 3
// characters) or dropped (1 character, recorded as a defect). So
// malformed base64 decodes to what is parseable and never fails; only an
// error of the underlying reader comes through.
type b64reader struct {
	r   io.Reader
	wk  *walk  // for defects; may be nil
	in  []byte // encoded input; a quantum's worth of room past b64chunk for the padding
	nh  int    // alphabet characters carried over at the start of in (< 4)
	out []byte // decoded but not yet returned, when the caller's buffer was small
	dec []byte // backing array of out
	end bool   // "=" seen: the data is over
	err error  // sticky: io.EOF or the read error
}

func newBase64(r io.Reader, wk *walk) io.Reader {
	return &b64reader{r: r, wk: wk, in: make([]byte, b64chunk+4)}
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
		// Decode straight into p when it can hold all a chunk decodes to.
		want := min(b64chunk, len(p)/3*4) - b.nh
		direct := want >= 4
		if !direct {
			want = b64chunk - b.nh
		}
		full := b.fill(want)
		if full == 0 {
			continue
		}
		dst := p
		if !direct {
			if b.dec == nil {
				b.dec = make([]byte, (b64chunk+4)/4*3)
			}
			dst = b.dec
		}
		n, err := base64.StdEncoding.Decode(dst, b.in[:full])
		if err != nil { // cannot happen: fill leaves only padded quanta of the alphabet
			b.err = err
		}
		// The carried-over characters move to the front for the next fill.
		b.nh = copy(b.in, b.in[full:full+b.nh])
		if direct {
			return n, nil
		}
		b.out = dst[:n]
	}
}

// fill reads up to want encoded bytes after the carried-over characters,
// keeps only the alphabet and returns how many bytes at the start of in
// are whole quanta to decode; the rest (b.nh) is carried over. At the end
// of the data the last quantum is padded or dropped and b.err is set.
func (b *b64reader) fill(want int) int {
	w := b.nh
	var err error
	for !b.end && err == nil && w+4 <= b.nh+want {
		var n int
		n, err = b.r.Read(b.in[w : b.nh+want])
		for _, c := range b.in[w : w+n] {
			if b64alphabet[c] {
				b.in[w] = c
				w++
			} else if c == '=' {
				b.end = true
				break
			}
		}
		if n == 0 && err == nil {
			break // let the caller retry rather than spin here
		}
	}
	full := w &^ 3
	b.nh = w - full
	if err == nil && !b.end {
		return full
	}
	switch b.nh {
	case 1:
		if b.wk != nil {
			b.wk.defect("base64 data ends with a lone character")
		}
	case 2, 3:
		copy(b.in[full+b.nh:full+4], "==")
		full += 4
	}
	b.nh = 0
	if err == nil {
		err = io.EOF
	}
	b.err = err
	return full
}
