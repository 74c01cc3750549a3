package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/internal/config"
	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/threading"
)

type serveCmd struct {
	Demo bool `help:"Create (once) a demo company with a staff login, groups, teams and members."`
}

// server is what every listener of the gateway is.
type server interface {
	Serve(l net.Listener) error
	Shutdown(ctx context.Context) error
}

// listener is one server bound to one address.
type listener struct {
	name string
	addr string
	srv  server
	l    net.Listener
}

// gateway is the running process: shared parts, then the servers and
// workers that the serve_*.go files add.
type gateway struct {
	a        *app
	cfg      config.Config
	store    *sqlstore.Store
	log      *slog.Logger
	reg      *prometheus.Registry
	tokens   *threading.Tokens
	hub      notify.Hub
	tls      *tls.Config   // nil without [tls] cert_file; follows SIGHUP reloads
	logins   *auth.Limiter // failed logins, shared by IMAP and submission
	mux      *http.ServeMux
	servers  []*listener
	demoData bool // serve --demo: the banner's next steps use the demo company
	workers  []func(ctx context.Context) error
}

func (c *serveCmd) Run(a *app) error {
	a.serving = true
	cfg, err := a.config()
	if err != nil {
		return err
	}
	s, err := a.open()
	if err != nil {
		return err
	}
	secrets, err := cfg.Secrets()
	if err != nil {
		return err
	}
	keys := make([]threading.Key, len(secrets))
	for i, k := range secrets {
		keys[i] = threading.Key{ID: k.ID, Secret: k.Secret, NotAfter: k.NotAfter}
	}
	tokens, err := threading.NewTokens(keys, time.Now)
	if err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g := &gateway{a: a, cfg: cfg, store: s, log: a.logger(), reg: reg, tokens: tokens, hub: notify.NewLocal(), mux: http.NewServeMux(),
		logins: &auth.Limiter{}}
	if c.Demo {
		if err := g.demo(); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		g.demoData = true
	}
	closeHub, err := g.wireHub()
	if err != nil {
		return err
	}
	defer closeHub()
	if err := g.wireTLS(); err != nil {
		return err
	}
	if err := g.routes(); err != nil {
		return err
	}
	if err := g.wire(); err != nil {
		return err
	}
	return g.run(a.ctx)
}

// routes mounts the health, readiness and metrics endpoints and adds the
// HTTP listener, and the HTTPS one when [http] listen_tls is set; both
// serve g.mux, so handlers mounted later (unsubscribe) are on both.
func (g *gateway) routes() error {
	g.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	g.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := g.store.Ping(ctx); err != nil {
			g.log.Warn("readiness: database does not answer", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	g.mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{Registry: g.reg}))
	errLog := slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)
	g.add("http", g.cfg.HTTP.Listen, httpServer{&http.Server{Handler: g.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}})
	if g.cfg.HTTP.ListenTLS != "" {
		if g.tls == nil {
			return errors.New("http.listen_tls needs a certificate: set [tls] cert_file and key_file")
		}
		hs := &http.Server{Handler: g.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog, TLSConfig: g.tls}
		g.add("https", g.cfg.HTTP.ListenTLS, httpsServer{hs})
	}
	return nil
}

// add registers a server to start on addr (skipped when addr is empty).
func (g *gateway) add(name, addr string, srv server) {
	if addr != "" {
		g.servers = append(g.servers, &listener{name: name, addr: addr, srv: srv})
	}
}

// run binds every listener first (so a taken port fails before anything
// serves), serves until ctx ends, then shuts down in order: listeners and
// their sessions, then workers; the store is closed by the caller.
func (g *gateway) run(ctx context.Context) error {
	for _, s := range g.servers {
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, o := range g.servers {
				if o.l != nil {
					o.l.Close()
				}
			}
			return fmt.Errorf("%s listener: %w", s.name, err)
		}
		s.l = l
	}
	g.banner()
	eg, ctx := errgroup.WithContext(ctx)
	for _, s := range g.servers {
		eg.Go(func() error {
			if err := s.srv.Serve(s.l); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			return nil
		})
	}
	for _, w := range g.workers {
		eg.Go(func() error {
			if err := w(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	eg.Go(func() error {
		<-ctx.Done()
		g.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		for _, s := range g.servers {
			if err := s.srv.Shutdown(sctx); err != nil {
				g.log.Warn("shutdown", "server", s.name, "err", err)
			}
		}
		return nil
	})
	err := eg.Wait()
	g.log.Info("stopped")
	return err
}

// httpServer adapts *http.Server to server.
type httpServer struct{ *http.Server }

func (h httpServer) Serve(l net.Listener) error { return h.Server.Serve(l) }

// httpsServer serves TLS with the certificate of TLSConfig (its
// GetCertificate follows SIGHUP reloads).
type httpsServer struct{ *http.Server }

func (h httpsServer) Serve(l net.Listener) error { return h.Server.ServeTLS(l, "", "") }
