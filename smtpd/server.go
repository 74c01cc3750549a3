package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/smtpd/authcheck"
	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// Store is the part of storage.Store the listener uses.
type Store interface {
	CompanyByDomain(ctx context.Context, domain string) (storage.Company, error)
	Member(ctx context.Context, companyID, id int64) (storage.Member, error)
	MemberByEmail(ctx context.Context, companyID int64, email string) (storage.Member, error)
	Team(ctx context.Context, companyID, id int64) (storage.Team, error)
	Group(ctx context.Context, companyID, id int64) (storage.Group, error)
	Thread(ctx context.Context, companyID, id int64) (storage.Thread, error)
	threading.ThreadFinder
	Deliver(ctx context.Context, d storage.Delivery) (storage.Message, bool, error)
	RecordBounce(ctx context.Context, companyID int64, b storage.Bounce) (storage.Bounce, error)
	SetMemberNotifications(ctx context.Context, companyID, memberID int64, on bool) error
	Blobs() storage.BlobStore
}

// TokenVerifier checks address tokens; *threading.Tokens implements it.
type TokenVerifier interface {
	Verify(kind threading.Kind, companyID int64, token string) (threading.Token, error)
}

// Publisher wakes the readers of a company's mail; notify.Hub implements it.
type Publisher interface {
	Publish(ctx context.Context, topic notify.Topic, companyID int64) error
}

// Config configures a Server. Zero values mean the defaults.
type Config struct {
	Store  Store         // required
	Tokens TokenVerifier // required
	Hub    Publisher     // optional: told after each stored message
	// Auth runs SPF/DKIM/DMARC; nil means auth_checks = off.
	Auth   *authcheck.Checker
	Policy mimewalk.Policy // attachment policy; zero: mimewalk.DefaultPolicy()
	// TLS enables STARTTLS when non-nil.
	TLS      *tls.Config
	Hostname string // greeting and EHLO name; default "localhost"

	MaxMessageBytes int64         // SIZE; default 360 MiB (a 250 MB attachment, base64-encoded)
	MaxRecipients   int           // per transaction; default 50
	MaxLineLength   int           // octets per line, DATA included; default 2000
	ReadTimeout     time.Duration // per command or DATA read; default 5 minutes
	WriteTimeout    time.Duration // default 5 minutes
	MaxConns        int           // connections at once; default 1000
	MaxConnsPerIP   int           // connections at once from one address; default 64
	// ConnRate and ConnBurst bound new connections per second from one
	// address; default 20/s with a burst of 100.
	ConnRate  rate.Limit
	ConnBurst int
	// LimitLoopback applies the per-address limits to loopback peers too;
	// by default they are exempt (a local MTA in front of the gateway
	// relays everyone from 127.0.0.1).
	LimitLoopback bool

	Logger     *slog.Logger
	Registerer prometheus.Registerer // metrics; nil: not exported
	Clock      func() time.Time      // default time.Now
}

// Server is the inbound SMTP listener.
type Server struct {
	cfg     Config
	smtp    *smtp.Server
	walker  *mimewalk.Walker
	metrics *metrics
	ctx     context.Context // sessions' base context, ended by a forced shutdown
	cancel  context.CancelFunc

	mu        sync.Mutex
	closing   bool
	listeners []net.Listener
	sessions  map[*session]struct{}
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Tokens == nil {
		return nil, errors.New("smtpd: Config.Store and Config.Tokens are required")
	}
	setDefaults(&cfg)
	walker, err := mimewalk.New(mimewalk.Config{Blobs: cfg.Store.Blobs(), Policy: cfg.Policy, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("smtpd: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, walker: walker, metrics: m, sessions: make(map[*session]struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	ss := smtp.NewServer(smtp.BackendFunc(s.newSession))
	ss.Domain = cfg.Hostname
	ss.TLSConfig = cfg.TLS
	ss.MaxMessageBytes = cfg.MaxMessageBytes
	ss.MaxRecipients = cfg.MaxRecipients
	ss.MaxLineLength = cfg.MaxLineLength
	ss.ReadTimeout = cfg.ReadTimeout
	ss.WriteTimeout = cfg.WriteTimeout
	ss.EnableSMTPUTF8 = true
	ss.ErrorLog = slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)
	s.smtp = ss
	return s, nil
}

func setDefaults(c *Config) {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxRecipients, 50)
	def(&c.MaxLineLength, 2000)
	def(&c.MaxConns, 1000)
	def(&c.MaxConnsPerIP, 64)
	def(&c.ConnBurst, 100)
	if c.ConnRate <= 0 {
		c.ConnRate = 20
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 360 << 20
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 5 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Minute
	}
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	// Kept here too: go-smtp only learns of l once its Serve runs, and a
	// Shutdown before that must still close it.
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	err := s.smtp.Serve(newLimitListener(l, s))
	if err != nil && s.isClosing() && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, closes idle sessions at once and waits for
// the messages being received to be answered; when ctx ends first, the
// remaining connections are cut (nothing they sent got a 250).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.smtp.Shutdown(ctx) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case err := <-done:
			if err != nil && ctx.Err() != nil {
				s.cancel()
				s.smtp.Close()
			}
			if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
				return nil // closed by us above, or twice
			}
			return err
		case <-tick.C:
		}
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// closeIdle cuts the connections of sessions that are not inside DATA.
func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		if !sess.busy {
			sess.conn.Close()
		}
	}
}

// begin marks a session busy for DATA; false while shutting down.
func (s *Server) begin(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	sess.busy = true
	return true
}

func (s *Server) end(sess *session) {
	s.mu.Lock()
	sess.busy = false
	s.mu.Unlock()
}
