package smtpd

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"testing/iotest"
)

// readerConn is a net.Conn whose reads come from r, counted.
type readerConn struct {
	net.Conn
	r     io.Reader
	reads int
}

func (c *readerConn) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// TestBufferedReads reads a 3 MiB stream in go-smtp's 4 KiB pieces (and a
// few odd ones): the bytes and the final EOF come through unchanged, and
// past readBufAfter the connection is read in readBufSize pieces.
func TestBufferedReads(t *testing.T) {
	want := make([]byte, 3<<20+17)
	rand.NewChaCha8([32]byte{3}).Read(want)
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(want)},
		{"half reads", iotest.HalfReader(bytes.NewReader(want))},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(want))},
	} {
		c := &readerConn{r: tc.r}
		var rd bufferedReads
		var got []byte
		p := make([]byte, 4096)
		for i := 0; ; i++ {
			size := len(p)
			if i%97 == 0 {
				size = 1 + i%4096
			}
			n, err := rd.read(c, p[:size])
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: read: %v", tc.name, err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: read %d bytes, not the %d sent", tc.name, len(got), len(want))
		}
		if direct := readBufAfter / 4096; tc.name == "whole" && c.reads > direct+(len(want)-readBufAfter)/readBufSize+16 {
			t.Errorf("%s: %d reads of the connection for %d bytes, want about %d", tc.name, c.reads, len(want), direct+(len(want)-readBufAfter)/readBufSize)
		}
	}
}
