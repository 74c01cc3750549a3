package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
)

// replay is an IMAP server for client.py that answers its two FETCH
// commands with the untagged responses recorded from a real server, from
// memory, and everything else with the least the client accepts. What
// imaplib takes to read those bytes is its own floor: no server can be
// faster than that through this client.
type replay struct {
	ln       net.Listener
	exists   int
	flags    []byte // the answer to UID FETCH 1:* (FLAGS), tagged line left out
	envelope []byte // the answer to FETCH 1:* (ENVELOPE)
}

// record reads the two FETCH answers from the server at addr and
// starts a replay of them on a loopback port.
func record(addr, user string) (*replay, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 1<<20)
	rp := &replay{}
	if _, err := untilTagged(r, "*"); err != nil {
		return nil, err
	}
	steps := []struct {
		cmd string
		out *[]byte
	}{
		{"LOGIN " + user + " " + password, nil},
		{"EXAMINE INBOX", nil},
		{"UID FETCH 1:* (FLAGS)", &rp.flags},
		{"FETCH 1:* (ENVELOPE)", &rp.envelope},
	}
	for i, st := range steps {
		tag := fmt.Sprintf("r%d", i)
		fmt.Fprintf(c, "%s %s\r\n", tag, st.cmd)
		got, err := untilTagged(r, tag)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.cmd, err)
		}
		if st.out != nil {
			*st.out = got
		}
		if st.out == nil { // EXISTS comes with EXAMINE
			for _, l := range bytes.Split(got, []byte("\r\n")) {
				if bytes.HasSuffix(l, []byte(" EXISTS")) {
					fmt.Sscanf(string(l), "* %d EXISTS", &rp.exists)
				}
			}
		}
	}
	if rp.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	go rp.serve()
	return rp, nil
}

// untilTagged reads lines up to the one that starts with tag and returns
// those before it; the greeting is read with tag "*".
func untilTagged(r *bufio.Reader, tag string) ([]byte, error) {
	var out []byte
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			out = append(out, line...)
			continue
		}
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(line, []byte(tag+" ")) {
			if tag != "*" && !bytes.HasPrefix(line, []byte(tag+" OK")) {
				return nil, fmt.Errorf("%s", bytes.TrimSpace(line))
			}
			return out, nil
		}
		out = append(out, line...)
	}
}

func (rp *replay) addr() string { return rp.ln.Addr().String() }

func (rp *replay) close() { rp.ln.Close() }

func (rp *replay) serve() {
	for {
		c, err := rp.ln.Accept()
		if err != nil {
			return
		}
		go rp.session(c)
	}
}

func (rp *replay) session(c net.Conn) {
	defer c.Close()
	w := bufio.NewWriterSize(c, 64<<10)
	r := bufio.NewReader(c)
	w.WriteString("* OK replay ready\r\n")
	w.Flush()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " ")
		cmd = strings.ToUpper(cmd)
		switch {
		case cmd == "CAPABILITY":
			w.WriteString("* CAPABILITY IMAP4rev1\r\n")
		case strings.HasPrefix(cmd, "SELECT"), strings.HasPrefix(cmd, "EXAMINE"):
			fmt.Fprintf(w, "* FLAGS (\\Seen)\r\n* %d EXISTS\r\n* OK [UIDVALIDITY 1] replay\r\n", rp.exists)
		case strings.HasPrefix(cmd, "UID FETCH") && strings.Contains(cmd, "FLAGS"):
			w.Write(rp.flags)
		case strings.HasPrefix(cmd, "FETCH") && strings.Contains(cmd, "ENVELOPE"):
			w.Write(rp.envelope)
		case strings.HasPrefix(cmd, "UID SEARCH"):
			w.WriteString("* SEARCH\r\n")
		case cmd == "LOGOUT":
			w.WriteString("* BYE replay done\r\n" + tag + " OK done\r\n")
			w.Flush()
			return
		case strings.HasPrefix(cmd, "LOGIN"), strings.HasPrefix(cmd, "STORE"):
		default:
			w.WriteString(tag + " BAD replay knows only the bench's commands\r\n")
			w.Flush()
			continue
		}
		w.WriteString(tag + " OK done\r\n")
		w.Flush()
	}
}
