package imapd

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"sync"
	"time"
)

// lineConn skips empty lines a client sends between commands: imapserver
// at beta.8 takes one for a broken command and drops the connection
// (fixed upstream later). It follows literals ({n}, {n+}, ~{n}) so that
// their bytes, and the rest of a line after one, pass untouched. After a
// STARTTLS command the stream carries TLS records: the filter steps aside.
type lineConn struct {
	net.Conn
	r        *bufio.Reader
	line     []byte // the line being handed out
	rest     []byte // its bytes not handed out yet
	literal  int64  // bytes of a literal still to pass
	midLine  bool   // the next bytes continue a line already passed on
	pass     bool   // no more filtering
	starttls bool   // watch for STARTTLS
	w        writeState
}

func newLineConn(c net.Conn, starttls bool) *lineConn {
	return &lineConn{Conn: c, r: bufio.NewReaderSize(c, 1024), starttls: starttls}
}

func (c *lineConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 && c.r.Buffered() == 0 {
		c.flush() // the client waits for our answer before it says more
	}
	if len(c.rest) > 0 {
		return c.handOut(p), nil
	}
	if c.pass {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		return c.Conn.Read(p)
	}
	if c.literal > 0 {
		if int64(len(p)) > c.literal {
			p = p[:c.literal]
		}
		n, err := c.r.Read(p)
		c.literal -= int64(n)
		c.midLine = true
		return n, err
	}
	for {
		line, err := c.r.ReadSlice('\n')
		if len(line) == 0 {
			return 0, err
		}
		complete := line[len(line)-1] == '\n'
		if complete && !c.midLine && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			continue // an empty line between commands
		}
		c.line = append(c.line[:0], line...)
		c.rest = c.line
		return c.handOut(p), nil
	}
}

// handOut copies the pending line bytes into p; once the line is out, a
// literal or STARTTLS it announces takes effect.
func (c *lineConn) handOut(p []byte) int {
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	if len(c.rest) == 0 {
		complete := c.line[len(c.line)-1] == '\n'
		c.midLine = !complete
		if complete {
			c.endOfLine(c.line)
		}
	}
	return n
}

// endOfLine looks at a complete line: a literal announced at its end, or
// STARTTLS.
func (c *lineConn) endOfLine(line []byte) {
	t := bytes.TrimRight(line, "\r\n")
	if bytes.HasSuffix(t, []byte("}")) {
		if i := bytes.LastIndexByte(t, '{'); i >= 0 {
			num := bytes.TrimSuffix(t[i+1:len(t)-1], []byte("+"))
			if n, err := strconv.ParseInt(string(num), 10, 64); err == nil && n >= 0 {
				c.literal += n
				c.midLine = true
			}
		}
	}
	if c.starttls {
		if _, cmd, ok := bytes.Cut(t, []byte(" ")); ok && bytes.EqualFold(bytes.TrimSpace(cmd), []byte("STARTTLS")) {
			c.pass = true
		}
	}
}

// Writes are coalesced: imapserver flushes after every response line, so
// FETCH 1:* of 100,000 messages would cost 100,000 system calls (and TLS
// records). Bytes wait in buf until the connection is read from again
// (the command is done), 32 KB pile up, or flushDelay passes (updates
// written during IDLE).
const (
	writeBuf   = 32 << 10
	flushDelay = time.Millisecond
	// flushTimeout bounds a write of buffered bytes when no deadline was
	// asked for (a client that stopped reading).
	flushTimeout = 30 * time.Second
)

type writeState struct {
	mu       sync.Mutex
	buf      []byte
	timer    *time.Timer
	err      error
	deadline time.Time // the write deadline asked for
	applied  time.Time // the one set on the connection
}

// SetWriteDeadline notes the deadline for the next network write:
// imapserver sets and clears one around every response line, which
// would cost two timer updates per line of a 100,000-message FETCH. The
// deadline is set on the connection once per write (flushLocked).
func (c *lineConn) SetWriteDeadline(t time.Time) error {
	c.w.mu.Lock()
	c.w.deadline = t
	c.w.mu.Unlock()
	return nil
}

// SetDeadline sets the read deadline and notes the write one.
func (c *lineConn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

// applyDeadline sets the write deadline for a network write, when it
// changed; w.mu is held.
func (c *lineConn) applyDeadline() error {
	w := &c.w
	dl := w.deadline
	if dl.IsZero() {
		dl = time.Now().Add(flushTimeout)
	}
	if dl.Equal(w.applied) {
		return nil
	}
	w.applied = dl
	return c.Conn.SetWriteDeadline(dl)
}

func (c *lineConn) Write(p []byte) (int, error) {
	w := &c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if len(w.buf)+len(p) > writeBuf {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= writeBuf {
			if err := c.applyDeadline(); err != nil {
				return 0, err
			}
			return c.Conn.Write(p)
		}
	}
	if len(w.buf) == 0 {
		if w.timer == nil {
			w.timer = time.AfterFunc(flushDelay, c.flush)
		} else {
			w.timer.Reset(flushDelay)
		}
	}
	if n := len(w.buf) + len(p); n > cap(w.buf) && n > writeBuf/2 {
		// Straight to full size (never past it, so the buffer is kept
		// from flush to flush): growing by append past writeBuf, which
		// flushLocked then dropped, cost a growslice chain per flush of
		// a long response.
		nb := make([]byte, len(w.buf), writeBuf)
		copy(nb, w.buf)
		w.buf = nb
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (c *lineConn) flush() {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.flushLocked()
}

func (c *lineConn) flushLocked() error {
	w := &c.w
	if len(w.buf) == 0 || w.err != nil {
		return w.err
	}
	if err := c.applyDeadline(); err != nil {
		w.err = err
		return err
	}
	_, err := c.Conn.Write(w.buf)
	w.buf = w.buf[:0]
	w.err = err
	return err
}

// Close sends what is buffered, then closes.
func (c *lineConn) Close() error {
	c.w.mu.Lock()
	if c.w.timer != nil {
		c.w.timer.Stop()
	}
	c.flushLocked()
	c.w.err = net.ErrClosed
	c.w.buf = nil
	c.w.mu.Unlock()
	return c.Conn.Close()
}
