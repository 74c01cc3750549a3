package imapd

import (
	"bytes"
	"testing"
)

// TestCRLFWriter: in a message whose first line ends in a bare LF, bare
// LFs become CRLF; a CRLF message is untouched; whatever the pieces the
// message arrives in.
func TestCRLFWriter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\r\rb\n\r", "a\r\rb\r\n\r"},
		{"bare\nand\r\nmixed\n", "bare\r\nand\r\nmixed\r\n"},
		// A CRLF message passes untouched, binary bytes included.
		{"mixed\r\nand\nbare\r\n\n", "mixed\r\nand\nbare\r\n\n"},
		{"From: x\r\n\r\n\x00\n\xff\n", "From: x\r\n\r\n\x00\n\xff\n"},
		{"", ""},
	} {
		for size := 1; size <= len(c.in)+1; size++ {
			var out bytes.Buffer
			w := &crlfWriter{w: &out}
			for i := 0; i < len(c.in); i += size {
				if _, err := w.Write([]byte(c.in[i:min(i+size, len(c.in))])); err != nil {
					t.Fatal(err)
				}
			}
			if out.String() != c.want || w.n != int64(len(c.want)) {
				t.Errorf("%q in pieces of %d = %q (n %d), want %q", c.in, size, out.String(), w.n, c.want)
			}
		}
	}
}
