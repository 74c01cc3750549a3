package imapd

import (
	"bytes"
	"testing"
)

// TestCRLFWriter: bare LFs become CRLF, existing CRLFs stay, whatever
// the pieces the message arrives in.
func TestCRLFWriter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\r\rb\n\r", "a\r\rb\r\n\r"},
		{"mixed\r\nand\nbare\r\n\n", "mixed\r\nand\r\nbare\r\n\r\n"},
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
