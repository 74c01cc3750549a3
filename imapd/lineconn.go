package imapd

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
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
}

func newLineConn(c net.Conn, starttls bool) *lineConn {
	return &lineConn{Conn: c, r: bufio.NewReaderSize(c, 8192), starttls: starttls}
}

func (c *lineConn) Read(p []byte) (int, error) {
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
