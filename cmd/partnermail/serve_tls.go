package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnermail/partnermail/internal/tlsconf"
)

// wireTLS loads the certificate of [tls] (g.tls stays nil without one) and
// adds a worker that reloads it on SIGHUP. A bad new pair is logged and
// the old one keeps serving.
func (g *gateway) wireTLS() error {
	if g.cfg.TLS.CertFile == "" {
		return nil
	}
	cert, err := tlsconf.Load(g.cfg.TLS.CertFile, g.cfg.TLS.KeyFile)
	if err != nil {
		return err
	}
	g.tls = cert.Config()
	g.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "partnermail_tls_certificate_expiry_seconds",
		Help: "Expiry (Unix time) of the TLS certificate currently served.",
	}, func() float64 { return float64(cert.NotAfter().Unix()) }))
	g.onHUP(func() {
		if err := cert.Reload(); err != nil {
			g.log.Error("SIGHUP: TLS certificate not reloaded, the previous one stays in use", "err", err)
			return
		}
		g.log.Info("SIGHUP: TLS certificate reloaded", "subject", cert.Leaf().Subject.String(), "not_after", cert.NotAfter())
	})
	return nil
}
