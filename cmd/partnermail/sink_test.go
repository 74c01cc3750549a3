package main

import (
	"bufio"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is an SMTP server on 127.0.0.1:0 standing in for the relay: it
// accepts everything and counts the emails by Message-ID.
type sink struct {
	addr string
	mu   sync.Mutex
	byID map[string]int // Message-ID → times received
	rcpt map[string]int // envelope recipient → times received
	all  int
}

func newSink(t testing.TB) *sink {
	t.Helper()
	k := &sink{byID: map[string]int{}, rcpt: map[string]int{}}
	s := smtp.NewServer(k)
	s.Domain = "sink.localhost"
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	s.MaxMessageBytes = 64 << 20
	s.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return k
}

// total returns how many emails were accepted.
func (k *sink) total() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.all
}

// counts returns copies of the per-Message-ID and per-recipient counts.
func (k *sink) counts() (byID, byRcpt map[string]int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	byID, byRcpt = map[string]int{}, map[string]int{}
	for id, n := range k.byID {
		byID[id] = n
	}
	for r, n := range k.rcpt {
		byRcpt[r] = n
	}
	return byID, byRcpt
}

func (k *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }

type sinkSession struct {
	k     *sink
	rcpts []string
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, strings.ToLower(to))
	return nil
}
func (s *sinkSession) Reset()        { s.rcpts = nil }
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) Data(r io.Reader) error {
	h, err := textproto.NewReader(bufio.NewReader(r)).ReadMIMEHeader()
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r)
	id := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.byID[id]++
	for _, rc := range s.rcpts {
		s.k.rcpt[rc]++
	}
	s.k.all++
	return nil
}
