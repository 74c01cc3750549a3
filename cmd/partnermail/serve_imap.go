package main

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnermail/partnermail/imapd"
)

// wireIMAP adds the IMAP view: [imap] listen (plain, STARTTLS when a
// certificate is configured) and listen_tls (implicit TLS). Both are one
// imapd.Server: one failed-login limiter, one session registry.
func (g *gateway) wireIMAP() error {
	c := g.cfg.IMAP
	if c.Listen == "" && c.ListenTLS == "" {
		return nil
	}
	if c.ListenTLS != "" && g.tls == nil {
		return errors.New("imap.listen_tls needs a certificate: set [tls] cert_file and key_file")
	}
	if g.tls == nil && !c.InsecureAuth {
		g.log.Warn("imap: no [tls] certificate and insecure_auth off: no client can log in", "listen", c.Listen)
	}
	srv, err := imapd.New(imapd.Config{
		Store:        g.store,
		Hub:          g.hub,
		Tokens:       g.tokens,
		Logger:       g.log.With("service", "imap"),
		TLS:          g.tls,
		InsecureAuth: c.InsecureAuth,
		AuthservID:   g.cfg.SMTP.AuthservID,
		Limiter:      g.logins,
		Observe:      g.imapObserver(),
		// 0 stays 0 (the default), negative stays negative (off)
		EnvelopeCache: c.EnvelopeCacheMB << 20,
		BlobCache:     c.BlobCacheMB << 20,
	})
	if err != nil {
		return fmt.Errorf("imap: %w", err)
	}
	g.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "partnermail_imap_sessions",
		Help: "Open IMAP sessions.",
	}, func() float64 { return float64(srv.Sessions()) }))
	if c.Listen != "" {
		g.add("imap", c.Listen, srv)
	}
	if c.ListenTLS != "" {
		g.add("imaps", c.ListenTLS, srv.ImplicitTLS())
	}
	return nil
}
