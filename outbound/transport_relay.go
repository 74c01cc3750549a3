package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// TLS modes of a relay connection.
const (
	TLSNone     = "none"     // plain SMTP (a relay on loopback or a trusted network)
	TLSStartTLS = "starttls" // STARTTLS required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// RelayConfig configures a Relay. Zero values mean defaults.
type RelayConfig struct {
	Host string // required
	Port int    // default 587, or 465 for TLSImplicit
	TLS  string // TLSNone, TLSStartTLS (default) or TLSImplicit
	// TLSConfig overrides the TLS client settings (default: verify Host).
	TLSConfig          *tls.Config
	Username, Password string // AUTH when Username is set
	HELO               string // default: the machine's host name
	// Timeout bounds the dial and each email's whole SMTP transaction
	// (default 5 minutes).
	Timeout time.Duration
	// MaxConns bounds the connections open at once (default 4); a Send
	// beyond them waits for one.
	MaxConns int
	// IdleCheck is how long a pooled connection may sit idle before it is
	// checked with NOOP before use (default 5s).
	IdleCheck time.Duration
	// DKIM signs the emails whose From domain has a signer.
	DKIM *DKIM
	Log  *slog.Logger
}

// Relay sends emails through a smarthost over a small pool of connections
// reused from one email to the next. go-mail dials, says EHLO, starts TLS
// and authenticates; the transaction itself (MAIL, one RCPT, DATA) is ours,
// so the envelope is exactly Email.From and Email.To whatever the headers
// say, and the body is written with the email's own streaming writer.
type Relay struct {
	cfg    RelayConfig
	client *mail.Client // dial, TLS and AUTH settings
	slots  chan struct{}
	mu     sync.Mutex
	idle   []*relayConn
	closed bool
	dials  atomic.Int64
}

type relayConn struct {
	c    *smtp.Client
	raw  net.Conn // closed to interrupt a command when ctx ends
	used time.Time
}

var _ Transport = (*Relay)(nil)

// NewRelay checks cfg and returns a relay transport; it connects on the
// first Send.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Host == "" {
		return nil, errors.New("relay: no host")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4
	}
	if cfg.IdleCheck <= 0 {
		cfg.IdleCheck = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	}
	r := &Relay{cfg: cfg, slots: make(chan struct{}, cfg.MaxConns)}
	// AUTH: go-mail refuses PLAIN unless it saw STARTTLS succeed; with
	// implicit TLS (our dialer does the handshake) or none (the operator's
	// choice) PLAIN is allowed explicitly.
	auth := mail.SMTPAuthPlainNoEnc
	opts := []mail.Option{mail.WithTimeout(cfg.Timeout), mail.WithDialContextFunc(r.dial), mail.WithTLSConfig(cfg.TLSConfig)}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		auth = mail.SMTPAuthAutoDiscover
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
		if cfg.Port == 0 {
			cfg.Port = 465
		}
	default:
		return nil, fmt.Errorf("relay: TLS mode %q: want %s, %s or %s", cfg.TLS, TLSNone, TLSStartTLS, TLSImplicit)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	opts = append(opts, mail.WithPort(cfg.Port))
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r.cfg, r.client = cfg, c
	return r, nil
}

// Dials counts the connections opened so far.
func (r *Relay) Dials() int64 { return r.dials.Load() }

// Send delivers e to e.To only, with e.From as the envelope sender, over a
// pooled connection. A pooled connection found dead before anything was
// sent is replaced once, so an idle timeout of the relay costs no retry.
func (r *Relay) Send(ctx context.Context, e *Email) error {
	var sign *dkim.SignOptions
	if from := e.Msg.GetAddrHeader(mail.HeaderFrom); len(from) > 0 {
		sign = r.cfg.DKIM.Signer(from[0].Address)
	}
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.slots }()
	for try := 0; ; try++ {
		rc, reused, err := r.conn(ctx)
		if err != nil {
			return fmt.Errorf("relay %s:%d: %w", r.cfg.Host, r.cfg.Port, err)
		}
		stop := context.AfterFunc(ctx, func() { rc.raw.Close() })
		err = r.transact(rc, e, sign)
		interrupted := !stop()
		var se *SMTPError
		errors.As(err, &se)
		switch {
		case err == nil && !interrupted:
			r.put(rc)
			return nil
		case err == nil:
			rc.c.Close() // accepted just before ctx ended and closed it
			return nil
		case se != nil && se.Code != 0 && !interrupted:
			r.put(rc) // the relay answered: the session is still in step
		default:
			rc.c.Close()
		}
		// A pooled connection that died while idle fails at MAIL with no
		// reply; nothing was sent, so one more try on a fresh one is safe.
		if reused && try == 0 && se != nil && se.Code == 0 && se.Stage == "MAIL" && ctx.Err() == nil {
			r.cfg.Log.Debug("relay connection went away, reconnecting", "err", err)
			continue
		}
		return fmt.Errorf("relay %s:%d: %w", r.cfg.Host, r.cfg.Port, err)
	}
}

// transact runs one SMTP transaction: MAIL, RCPT, DATA.
func (r *Relay) transact(rc *relayConn, e *Email, sign *dkim.SignOptions) error {
	if err := rc.c.UpdateDeadline(r.cfg.Timeout); err != nil {
		return smtpError("MAIL", err)
	}
	if err := rc.c.Mail("<" + e.From + ">"); err != nil {
		return r.abort(rc, smtpError("MAIL", err))
	}
	if err := rc.c.Rcpt("<" + e.To + ">"); err != nil {
		return r.abort(rc, smtpError("RCPT", err))
	}
	w, err := rc.c.Data()
	if err != nil {
		return r.abort(rc, smtpError("DATA", err))
	}
	if sign != nil {
		_, err = e.WriteSignedTo(w, sign)
	} else {
		_, err = e.WriteTo(w)
	}
	if err != nil {
		return smtpError("DATA", fmt.Errorf("write message: %w", err)) // the session is lost
	}
	if err := w.Close(); err != nil {
		return smtpError("DATA", err)
	}
	return nil
}

// abort ends a transaction refused by the relay with RSET, so that the
// connection can carry the next one.
func (r *Relay) abort(rc *relayConn, err *SMTPError) error {
	if err.Code != 0 {
		if rerr := rc.c.Reset(); rerr != nil {
			err.Code = 0 // out of step: do not reuse the connection
		}
	}
	return err
}

type connHolder struct{ raw net.Conn }

type connHolderKey struct{}

// dial opens the TCP connection for go-mail (TLS first for implicit TLS)
// and keeps it in the holder of ctx, so that Send can close it to
// interrupt a command.
func (r *Relay) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if r.cfg.TLS == TLSImplicit {
		tc := tls.Client(c, r.cfg.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	if h, ok := ctx.Value(connHolderKey{}).(*connHolder); ok {
		h.raw = c
	}
	return c, nil
}

// conn takes an idle connection (checked with NOOP when it sat idle a
// while) or dials a new one.
func (r *Relay) conn(ctx context.Context) (*relayConn, bool, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, false, errors.New("relay transport closed")
		}
		var rc *relayConn
		if n := len(r.idle); n > 0 {
			rc, r.idle = r.idle[n-1], r.idle[:n-1]
		}
		r.mu.Unlock()
		if rc == nil {
			break
		}
		if time.Since(rc.used) < r.cfg.IdleCheck {
			return rc, true, nil
		}
		rc.c.UpdateDeadline(r.cfg.Timeout)
		if err := rc.c.Noop(); err == nil {
			return rc, true, nil
		}
		rc.c.Close()
	}
	h := &connHolder{}
	c, err := r.client.DialToSMTPClientWithContext(context.WithValue(ctx, connHolderKey{}, h))
	if err != nil {
		if h.raw != nil {
			h.raw.Close()
		}
		return nil, false, err
	}
	r.dials.Add(1)
	return &relayConn{c: c, raw: h.raw}, false, nil
}

// put returns a connection to the pool.
func (r *Relay) put(rc *relayConn) {
	rc.used = time.Now()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		rc.c.Quit()
		rc.c.Close()
		return
	}
	r.idle = append(r.idle, rc)
	r.mu.Unlock()
}

// Close ends the idle connections with QUIT; a send in flight closes its
// connection when it finishes.
func (r *Relay) Close() error {
	r.mu.Lock()
	idle := r.idle
	r.idle, r.closed = nil, true
	r.mu.Unlock()
	for _, rc := range idle {
		rc.c.Quit()
		rc.c.Close()
	}
	return nil
}
