package smtpd

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limitListener enforces the connection limits before go-smtp sees a
// connection: at most maxConns at once, at most perIP from one address,
// and a token-bucket rate of new connections per address. A refused
// connection gets a 421 reply (RFC 5321 section 3.8) and is closed; the
// listener keeps accepting.
type limitListener struct {
	net.Listener
	s *Server

	mu    sync.Mutex
	total int
	ips   map[netip.Addr]*ipState
	swept time.Time
}

// ipState is what the listener remembers about one peer address.
type ipState struct {
	conns   int
	limiter *rate.Limiter
	seen    time.Time
}

func newLimitListener(l net.Listener, s *Server) *limitListener {
	return &limitListener{Listener: l, s: s, ips: make(map[netip.Addr]*ipState)}
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := peerAddr(c.RemoteAddr())
		if reason, text := l.admit(ip); reason != "" {
			l.s.metrics.refused(reason)
			l.s.cfg.Logger.Info("smtp connection refused", "peer", c.RemoteAddr().String(), "reason", reason)
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(text))
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

// admit counts a new connection from ip, or says why it is refused.
func (l *limitListener) admit(ip netip.Addr) (reason, reply string) {
	cfg := &l.s.cfg
	now := cfg.Clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= cfg.MaxConns {
		return "max_conns", "421 4.3.2 " + cfg.Hostname + " too busy, please try again later\r\n"
	}
	exempt := ip.IsLoopback() && !cfg.LimitLoopback
	st := l.ips[ip]
	if st == nil {
		st = &ipState{limiter: rate.NewLimiter(cfg.ConnRate, cfg.ConnBurst)}
		l.ips[ip] = st
	}
	st.seen = now
	if !exempt {
		if st.conns >= cfg.MaxConnsPerIP {
			return "conns_per_ip", "421 4.7.0 " + cfg.Hostname + " too many connections from your address, please try again later\r\n"
		}
		if !st.limiter.AllowN(now, 1) {
			return "rate", "421 4.7.0 " + cfg.Hostname + " too many new connections from your address, please slow down\r\n"
		}
	}
	st.conns++
	l.total++
	l.sweep(now)
	return "", ""
}

// release forgets one connection from ip.
func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if st := l.ips[ip]; st != nil {
		st.conns--
	}
}

// sweep drops idle addresses whose bucket has refilled, at most once a
// minute, so the map does not grow with every address ever seen.
func (l *limitListener) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for ip, st := range l.ips {
		if st.conns == 0 && now.Sub(st.seen) > time.Minute && st.limiter.TokensAt(now) >= float64(l.s.cfg.ConnBurst) {
			delete(l.ips, ip)
		}
	}
}

// limitedConn releases its slot once, on the first Close. Its reads go
// through bufferedReads.
type limitedConn struct {
	net.Conn
	l    *limitListener
	ip   netip.Addr
	once sync.Once
	rd   bufferedReads
}

func (c *limitedConn) Read(p []byte) (int, error) { return c.rd.read(c.Conn, p) }

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// peerAddr is the IP of a remote address (IPv4-mapped IPv6 unmapped).
func peerAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
