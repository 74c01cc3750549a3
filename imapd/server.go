// Package imapd serves the IMAP view of partnermail: staff log in with
// their email and password and read their company's shared inbox
// (virtual folders kept by storage.IMAPStore) and their private folders
// with any mail client. It is built on go-imap v2's imapserver and covers
// that library's gaps at beta.8 itself: each session keeps its own view of
// the selected mailbox (no shared tracker), pending updates are capped,
// and empty command lines are skipped instead of dropping the connection.
package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// Store is what the IMAP view reads and writes.
type Store interface {
	storage.IMAPStore
	StaffByEmail(ctx context.Context, email string) (storage.Staff, error)
	StaffList(ctx context.Context, companyID int64) ([]storage.Staff, error)
	Company(ctx context.Context, id int64) (storage.Company, error)
	Groups(ctx context.Context, companyID int64) ([]storage.Group, error)
	Teams(ctx context.Context, companyID int64, f storage.TeamFilter) ([]storage.Team, error)
	Blobs() storage.BlobStore
}

// Tokens mints the thread+TOKEN reply addresses of the staff view;
// *threading.Tokens implements it.
type Tokens interface {
	MintAddress(t threading.Token, domain string) (string, error)
}

// Config configures a Server. Zero values mean the defaults.
type Config struct {
	Store  Store
	Hub    notify.Hub
	Tokens Tokens
	Logger *slog.Logger
	// TLS enables STARTTLS on plain listeners and is required by
	// ImplicitTLS listeners; nil disables both.
	TLS *tls.Config
	// InsecureAuth allows LOGIN without TLS from loopback clients (dev
	// mode). Plain connections from anywhere else get LOGINDISABLED.
	InsecureAuth bool
	// AuthservID is the authserv-id of our Authentication-Results fields:
	// fields claiming it in a received header are forged and hidden.
	AuthservID string
	// Limiter rate-limits failed logins per account and per IP.
	Limiter *auth.Limiter
	// MaxPending caps the updates a session may owe its client (expunges
	// it may not send yet); past it the session ends with BYE.
	MaxPending int
	// AppendLimit is the largest APPEND accepted, in bytes.
	AppendLimit uint32
	// AuthCacheTTL is how long a good login is remembered, so that the
	// next connections with the same password skip the slow hash check;
	// default 10 minutes, negative disables.
	AuthCacheTTL time.Duration
	// IdleRecheck re-reads the mailbox during IDLE even without a
	// notification (a safety net); default 30 s.
	IdleRecheck time.Duration
	// NoCacheWarmer turns off the background parse of messages stored
	// without a cached ENVELOPE (see warm); the first FETCH of a folder
	// then parses them while the client waits.
	NoCacheWarmer bool
	// EnvelopeCache is how many bytes of cached ENVELOPE texts are kept
	// in memory for folder listings (see textCache): default 128 MB,
	// enough for about 250,000 messages; negative turns it off.
	EnvelopeCache int
	// BlobCache is how many bytes of small messages read ahead are kept
	// in memory for the next client that downloads them (see blobCache):
	// default 64 MB; negative turns it off.
	BlobCache int
	// Debug receives the raw protocol when set (it includes passwords).
	Debug io.Writer
	// Observe receives command latencies and login results (metrics).
	Observe Observer

	warmLookback int64 // tests: see warmLookback; 0 means the constant
}

// Server is the IMAP service. Serve plain (STARTTLS) listeners with Serve
// and implicit-TLS ones with ImplicitTLS().Serve.
type Server struct {
	cfg   Config
	log   *slog.Logger
	cache *layoutCache
	auth  *authCache
	// layouts parsed from blobs, on their way to the database cache
	cacheCh     chan cacheWrite
	cacheDone   chan struct{}
	cacheMu     sync.RWMutex
	cacheClosed bool
	warmDone    chan struct{} // closed when the cache warmer has stopped
	addrs       addrCache
	views       viewCache
	flags       flagCache
	envChunk    int        // messages per query of a FETCH of ENVELOPE alone
	oop         bool       // the database runs in its own process
	texts       *textCache // nil when turned off
	blobs       *blobCache // nil when turned off
	ctx         context.Context
	cancel      context.CancelFunc

	// One imapserver per authentication policy: the library decides
	// LOGINDISABLED per server, we decide per connection.
	open, strict, implicit *imapserver.Server
	queues                 map[*imapserver.Server]*connQueue

	sharedMu sync.Mutex
	sharedBy map[int64]sharedEntry

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Hub == nil || cfg.Tokens == nil {
		return nil, errors.New("imapd: Store, Hub and Tokens are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = &auth.Limiter{}
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 10000
	}
	if cfg.AppendLimit == 0 {
		cfg.AppendLimit = 360 << 20
	}
	if cfg.IdleRecheck <= 0 {
		cfg.IdleRecheck = 30 * time.Second
	}
	if cfg.warmLookback == 0 {
		cfg.warmLookback = warmLookback
	}
	if cfg.AuthCacheTTL == 0 {
		cfg.AuthCacheTTL = 10 * time.Minute
	}
	if cfg.EnvelopeCache == 0 {
		cfg.EnvelopeCache = 128 << 20
	}
	if cfg.BlobCache == 0 {
		cfg.BlobCache = 64 << 20
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, log: cfg.Logger, cache: newLayoutCache(4096), auth: newAuthCache(cfg.AuthCacheTTL), ctx: ctx, cancel: cancel,
		envChunk:  4 * fetchChunk,
		listeners: make(map[net.Listener]struct{}), sessions: make(map[*session]struct{}),
		sharedBy: make(map[int64]sharedEntry)}
	oop, ok := cfg.Store.(interface{ OutOfProcess() bool })
	s.oop = ok && oop.OutOfProcess()
	s.texts = newTextCache(cfg.EnvelopeCache)
	s.blobs = newBlobCache(cfg.BlobCache)
	s.cacheCh, s.cacheDone = make(chan cacheWrite, 20000), make(chan struct{})
	go s.writeCaches()
	s.warmDone = make(chan struct{})
	if cfg.NoCacheWarmer {
		close(s.warmDone)
	} else {
		go s.warm()
	}
	s.queues = make(map[*imapserver.Server]*connQueue)
	mk := func(insecure bool, tlsConf *tls.Config) *imapserver.Server {
		srv := imapserver.New(&imapserver.Options{
			NewSession:   s.newSession,
			Caps:         capabilities(),
			Logger:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			TLSConfig:    tlsConf,
			InsecureAuth: insecure,
			DebugWriter:  cfg.Debug,
		})
		q := newConnQueue()
		s.queues[srv] = q
		go srv.Serve(q) //nolint:errcheck // ends when the queue closes
		<-q.started     // imapserver.Close must not race Serve's start
		return srv
	}
	s.open = mk(true, cfg.TLS)
	s.strict = mk(false, cfg.TLS)
	s.implicit = mk(true, nil)
	return s, nil
}

func capabilities() imap.CapSet {
	return imap.CapSet{
		imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
		imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapESearch: {}, imap.CapSearchRes: {},
		imap.CapListExtended: {}, imap.CapListStatus: {}, imap.CapMove: {}, imap.CapStatusSize: {},
		imap.CapBinary: {}, imap.CapChildren: {}, imap.CapSpecialUse: {}, imap.CapLiteralPlus: {},
	}
}

// Serve accepts plain connections (STARTTLS when configured) on l until
// Shutdown.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ImplicitTLS returns the server for listeners where TLS starts at once
// (port 993).
func (s *Server) ImplicitTLS() *TLSServer { return &TLSServer{s} }

// TLSServer serves implicit-TLS listeners of a Server.
type TLSServer struct{ s *Server }

// Serve accepts TLS connections on l until Shutdown.
func (t *TLSServer) Serve(l net.Listener) error { return t.s.serve(l, true) }

// Shutdown shuts the whole Server down.
func (t *TLSServer) Shutdown(ctx context.Context) error { return t.s.Shutdown(ctx) }

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	if implicitTLS && s.cfg.TLS == nil {
		return errors.New("imapd: implicit TLS listener without a certificate")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.listeners[l] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		delay = 0
		go s.dispatch(c, implicitTLS)
	}
}

// dispatch hands a new connection to the imapserver whose policy fits.
func (s *Server) dispatch(c net.Conn, implicitTLS bool) {
	srv := s.strict
	switch {
	case implicitTLS:
		tc := tls.Server(c, s.cfg.TLS)
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.log.Debug("imap tls handshake", "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			return
		}
		c, srv = tc, s.implicit
	case s.cfg.InsecureAuth && isLoopback(c.RemoteAddr()):
		srv = s.open
	}
	if !s.queues[srv].put(newLineConn(c, !implicitTLS)) {
		c.Close()
	}
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Shutdown stops accepting, says BYE to every session, and closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	s.wg.Wait()
	var wg sync.WaitGroup
	for _, sess := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess.conn.Bye("Server shutting down")
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.cancel()
	for srv, q := range s.queues {
		q.Close()
		srv.Close()
	}
	select {
	case <-s.warmDone:
	case <-ctx.Done():
	}
	s.closeCaches(ctx)
	return nil
}

func (s *Server) track(sess *session, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.sessions[sess] = struct{}{}
	} else {
		delete(s.sessions, sess)
	}
	return true
}

// connQueue is a net.Listener fed by dispatch.
type connQueue struct {
	ch      chan net.Conn
	done    chan struct{}
	once    sync.Once
	started chan struct{} // closed at the first Accept
	start   sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{}), started: make(chan struct{})}
}

func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	q.start.Do(func() { close(q.started) })
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// Sessions counts the open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
