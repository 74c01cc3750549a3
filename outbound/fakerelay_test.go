package outbound

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// fakeRelay is a real SMTP server on 127.0.0.1 standing in for the
// smarthost: it records every accepted email and every connection, and
// answers with the errors a test asks for.
type fakeRelay struct {
	t    *testing.T
	srv  *smtp.Server
	addr string
	host string
	port int

	mu       sync.Mutex
	got      []relayed
	conns    int
	rcptErr  map[string]*smtp.SMTPError // by recipient address
	dataErr  *smtp.SMTPError
	hold     chan struct{} // when set, DATA waits for it to close
	inData   chan struct{} // receives one value each time DATA starts
	user     string        // required AUTH PLAIN login, "" for none
	password string
	authed   int
}

// relayed is one email the fake relay accepted.
type relayed struct {
	From string
	To   []string
	Data string
	TLS  bool
	Auth bool
}

// newFakeRelay starts a relay on 127.0.0.1:0; tlsMode is TLSNone,
// TLSStartTLS (STARTTLS offered) or TLSImplicit.
func newFakeRelay(t *testing.T, tlsMode string, cert *tls.Config) *fakeRelay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startFakeRelay(t, l, tlsMode, cert)
}

func startFakeRelay(t *testing.T, l net.Listener, tlsMode string, cert *tls.Config) *fakeRelay {
	r := &fakeRelay{t: t, rcptErr: map[string]*smtp.SMTPError{}, inData: make(chan struct{}, 100)}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &fakeSession{r: r, tls: isTLS}, nil
	}))
	r.srv.Domain = "relay.test"
	r.srv.AllowInsecureAuth = tlsMode == TLSNone
	if tlsMode != TLSNone {
		r.srv.TLSConfig = cert
	}
	l = &countingListener{Listener: l, r: r}
	if tlsMode == TLSImplicit {
		l = tls.NewListener(l, cert)
	}
	r.addr = l.Addr().String()
	host, port, _ := net.SplitHostPort(r.addr)
	r.host = host
	r.port, _ = strconv.Atoi(port)
	go r.srv.Serve(l)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *fakeRelay) emails() []relayed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayed(nil), r.got...)
}

func (r *fakeRelay) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// refuse makes RCPT TO:<rcpt> fail with code (4xx or 5xx); code 0 accepts
// again.
func (r *fakeRelay) refuse(rcpt string, code int, enhanced smtp.EnhancedCode, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if code == 0 {
		delete(r.rcptErr, rcpt)
		return
	}
	r.rcptErr[rcpt] = &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text}
}

type fakeSession struct {
	r    *fakeRelay
	tls  bool
	auth bool
	from string
	to   []string
}

func (s *fakeSession) AuthMechanisms() []string {
	if s.r.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *fakeSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.r.user || password != s.r.password {
			return errors.New("bad credentials")
		}
		s.auth = true
		s.r.mu.Lock()
		s.r.authed++
		s.r.mu.Unlock()
		return nil
	}), nil
}

func (s *fakeSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *fakeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	err := s.r.rcptErr[to]
	s.r.mu.Unlock()
	if err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *fakeSession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	select {
	case s.r.inData <- struct{}{}:
	default:
	}
	s.r.mu.Lock()
	hold, derr := s.r.hold, s.r.dataErr
	s.r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if derr != nil {
		return derr
	}
	s.r.mu.Lock()
	s.r.got = append(s.r.got, relayed{From: s.from, To: s.to, Data: strings.ReplaceAll(string(b), "\r\n", "\n"), TLS: s.tls, Auth: s.auth})
	s.r.mu.Unlock()
	return nil
}

func (s *fakeSession) Reset()        { s.from, s.to = "", nil }
func (s *fakeSession) Logout() error { return nil }

// countingListener counts the connections the relay accepts.
type countingListener struct {
	net.Listener
	r *fakeRelay
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.r.mu.Lock()
		l.r.conns++
		l.r.mu.Unlock()
	}
	return c, err
}
