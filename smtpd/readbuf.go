package smtpd

import "net"

// go-smtp reads its connection 4 KiB at a time (a default bufio.Reader),
// which for a large message means a system call per 4 KiB. Once a
// connection has read readBufAfter bytes (it is carrying a large
// message) its reads are served from a readBufSize buffer instead. The
// buffer only holds bytes the kernel had already received, in order, so
// go-smtp (and a TLS layer) sees exactly the stream it would have;
// small messages never allocate it.
const (
	readBufAfter = 1 << 20
	readBufSize  = 64 << 10
)

// bufferedReads is the read side of limitedConn.
type bufferedReads struct {
	n   int64  // bytes read before buf existed
	buf []byte // nil until readBufAfter
	r   []byte // unread part of buf
}

func (b *bufferedReads) read(c net.Conn, p []byte) (int, error) {
	if len(b.r) > 0 {
		n := copy(p, b.r)
		b.r = b.r[n:]
		return n, nil
	}
	if b.buf == nil {
		if b.n < readBufAfter || len(p) >= readBufSize {
			n, err := c.Read(p)
			b.n += int64(n)
			return n, err
		}
		b.buf = make([]byte, readBufSize)
	}
	if len(p) >= len(b.buf) {
		return c.Read(p)
	}
	m, err := c.Read(b.buf)
	n := copy(p, b.buf[:m])
	b.r = b.buf[n:m]
	if len(b.r) > 0 {
		err = nil // the error comes back on the next read, from the kernel again
	}
	return n, err
}
