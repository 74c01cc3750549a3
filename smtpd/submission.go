package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// SubmissionStore is what the submission listener needs from
// storage.Store: logins, and the directory that recipients are checked
// against.
type SubmissionStore interface {
	StaffByEmail(ctx context.Context, email string) (storage.Staff, error)
	Company(ctx context.Context, id int64) (storage.Company, error)
	CompanyByDomain(ctx context.Context, domain string) (storage.Company, error)
	Thread(ctx context.Context, companyID, id int64) (storage.Thread, error)
	Team(ctx context.Context, companyID, id int64) (storage.Team, error)
	TeamBySlug(ctx context.Context, companyID int64, slug string) (storage.Team, error)
	Group(ctx context.Context, companyID, id int64) (storage.Group, error)
	MemberByEmail(ctx context.Context, companyID int64, email string) (storage.Member, error)
	Blobs() storage.BlobStore
}

// Poster records a staff message in its thread and queues its
// notifications (*outbound.Poster). It returns *outbound.DisabledError for
// a team whose group has messaging off and outbound.ErrNoAudience for a
// thread, team or member that does not exist; created is false for a
// Message-ID already recorded in the thread (a retransmission).
type Poster interface {
	Post(ctx context.Context, p outbound.Post) (m storage.Message, created bool, err error)
}

var _ SubmissionStore = storage.Store(nil)

// Defaults of SubmissionConfig.
const (
	// DefaultSubmissionMaxMessageBytes fits one 250 MiB attachment (the
	// largest SPEC.md allows) after base64: 250 MiB × 4/3 × 78/76 line
	// breaks ≈ 342 MiB, plus room for the text and headers.
	DefaultSubmissionMaxMessageBytes = 360 << 20
	DefaultSubmissionMaxRecipients   = 100
	// DefaultSubmissionMaxLineLength is generous: mail clients write long
	// unfolded HTML lines; RFC 5322's 998 octets is often exceeded.
	DefaultSubmissionMaxLineLength = 16 << 10
	DefaultSubmissionMaxConns      = 200
	DefaultSubmissionMaxConnsPerIP = 20
)

// SubmissionConfig configures the submission listener. Zero values mean
// the defaults.
type SubmissionConfig struct {
	Store  SubmissionStore   // required
	Poster Poster            // required: records and notifies
	Tokens *threading.Tokens // required: verifies thread+TOKEN recipients
	// Hostname is announced in the greeting; default "localhost".
	Hostname string
	// TLSConfig enables STARTTLS, or implicit TLS with ImplicitTLS.
	TLSConfig *tls.Config
	// ImplicitTLS makes Serve speak TLS from the first byte (port 465,
	// RFC 8314). Pass Serve a plain listener: it wraps it itself, above
	// its connection limits.
	ImplicitTLS bool
	// InsecureAuth allows AUTH without TLS, but only from loopback
	// peers: the dev mode. Non-loopback peers always need TLS.
	InsecureAuth bool
	// Limiter rate-limits failed logins; nil: a private auth.Limiter
	// with its defaults.
	Limiter *auth.Limiter
	// Policy is the attachment policy; zero: mimewalk.DefaultPolicy().
	Policy mimewalk.Policy

	MaxMessageBytes int64
	MaxRecipients   int
	MaxLineLength   int
	ReadTimeout     time.Duration // default 5 minutes
	WriteTimeout    time.Duration // default 1 minute
	MaxConns        int           // open connections in all
	MaxConnsPerIP   int           // open connections from one IP

	// Observe, when set, is called once per login attempt ("login_ok",
	// "login_failed", "login_limited") and per finished transaction (its
	// outcome: "posted", "refused", "failed"), for metrics.
	Observe func(event string)

	Logger *slog.Logger
	Now    func() time.Time
}

// Submission is the SMTP submission listener (RFC 6409): staff send from
// their mail clients into partner conversations. It is never a relay:
// every recipient must be a gateway address or a partner member of the
// authenticated staff member's own company.
type Submission struct {
	cfg    SubmissionConfig
	walker *mimewalk.Walker
	srv    *smtp.Server
	ctx    context.Context // cancelled when Shutdown gives up
	cancel context.CancelFunc

	mu       sync.Mutex
	perIP    map[string]int // open connections per IP
	open     map[*subCountedConn]struct{}
	sessions map[*subSession]bool // true while in DATA
	closing  bool
	seq      uint64 // transaction ids
}

// NewSubmission returns a submission listener for cfg.
func NewSubmission(cfg SubmissionConfig) (*Submission, error) {
	if cfg.Store == nil {
		return nil, errors.New("smtpd: SubmissionConfig.Store is required")
	}
	if cfg.Poster == nil {
		return nil, errors.New("smtpd: SubmissionConfig.Poster is required")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("smtpd: SubmissionConfig.Tokens is required")
	}
	if cfg.ImplicitTLS && cfg.TLSConfig == nil {
		return nil, errors.New("smtpd: SubmissionConfig.ImplicitTLS needs a TLSConfig")
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Limiter == nil {
		cfg.Limiter = &auth.Limiter{}
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultSubmissionMaxMessageBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultSubmissionMaxRecipients
	}
	if cfg.MaxLineLength <= 0 {
		cfg.MaxLineLength = DefaultSubmissionMaxLineLength
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 5 * time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = time.Minute
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultSubmissionMaxConns
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = DefaultSubmissionMaxConnsPerIP
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string) {}
	}
	w, err := mimewalk.New(mimewalk.Config{Blobs: cfg.Store.Blobs(), Policy: cfg.Policy, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("submission: %w", err)
	}
	s := &Submission{cfg: cfg, walker: w, perIP: make(map[string]int),
		open: make(map[*subCountedConn]struct{}), sessions: make(map[*subSession]bool)}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Hostname
	if !cfg.ImplicitTLS {
		srv.TLSConfig = cfg.TLSConfig // advertises STARTTLS
	}
	// go-smtp's switch is global; subAuthAllowed narrows it to loopback.
	srv.AllowInsecureAuth = cfg.InsecureAuth
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.MaxLineLength = cfg.MaxLineLength
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = subErrorLog{cfg.Logger}
	s.srv = srv
	return s, nil
}

// Serve accepts connections on l until Shutdown. It returns nil after
// Shutdown.
func (s *Submission) Serve(l net.Listener) error {
	var ln net.Listener = &subLimitListener{Listener: l, s: s}
	if s.cfg.ImplicitTLS {
		// go-smtp recognises *tls.Conn, so TLS must be the outer layer.
		ln = tls.NewListener(ln, s.cfg.TLSConfig)
	}
	return s.srv.Serve(ln)
}

// Shutdown stops accepting connections, closes the sessions that are not
// receiving a message, and waits for the others to finish it, until ctx
// is done; then it closes them and cancels their storage calls.
func (s *Submission) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	var idle []*subSession
	for ss, busy := range s.sessions {
		if !busy {
			idle = append(idle, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range idle {
		ss.conn.Close() // calls Logout, which takes s.mu
	}
	err := s.srv.Shutdown(ctx)
	if ctx.Err() != nil {
		s.cancel()
		s.mu.Lock()
		for c := range s.open {
			c.Conn.Close()
		}
		s.mu.Unlock()
	}
	s.cancel()
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// setBusy marks a session as receiving a message, or not; it fails once
// Shutdown has begun.
func (s *Submission) setBusy(ss *subSession, busy bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if busy && s.closing {
		return false
	}
	if _, ok := s.sessions[ss]; ok {
		s.sessions[ss] = busy
	}
	return true
}

func (s *Submission) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("sub-%x-%d", s.cfg.Now().UnixMilli(), s.seq)
}

// subLimitListener refuses connections past the total and per-IP limits
// with a 421 before go-smtp sees them.
type subLimitListener struct {
	net.Listener
	s *Submission
}

func (l *subLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := subPeerIP(c.RemoteAddr())
		s := l.s
		s.mu.Lock()
		ok := len(s.open) < s.cfg.MaxConns && s.perIP[ip] < s.cfg.MaxConnsPerIP
		var cc *subCountedConn
		if ok {
			cc = &subCountedConn{Conn: c, s: s, ip: ip}
			s.open[cc] = struct{}{}
			s.perIP[ip]++
		}
		s.mu.Unlock()
		if !ok {
			s.cfg.Logger.Warn("submission: connection refused: too many connections", "peer", ip)
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("421 4.7.0 Too many connections, try again later\r\n"))
			c.Close()
			continue
		}
		return cc, nil
	}
}

// release forgets a closed connection.
func (s *Submission) release(c *subCountedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
}

// subCountedConn is an open connection, counted until it is closed.
type subCountedConn struct {
	net.Conn
	s    *Submission
	ip   string
	once sync.Once
}

func (c *subCountedConn) Close() error {
	c.once.Do(func() { c.s.release(c) })
	return c.Conn.Close()
}

// subPeerIP returns the IP of a peer address, or the whole address.
func subPeerIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// subIsLoopback reports whether a peer address is a loopback address.
func subIsLoopback(a net.Addr) bool {
	ip := net.ParseIP(subPeerIP(a))
	return ip != nil && ip.IsLoopback()
}

// subErrorLog sends go-smtp's internal error log to slog.
type subErrorLog struct{ l *slog.Logger }

func (e subErrorLog) Printf(format string, v ...any) {
	e.l.Warn("submission: smtp server", "msg", strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (e subErrorLog) Println(v ...any) {
	e.l.Warn("submission: smtp server", "msg", strings.TrimSpace(fmt.Sprintln(v...)))
}
