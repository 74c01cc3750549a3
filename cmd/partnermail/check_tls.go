package main

import (
	"fmt"
	"time"

	"github.com/partnermail/partnermail/internal/config"
	"github.com/partnermail/partnermail/internal/tlsconf"
)

// tlsWarnings checks the configured certificate the way a partner's mail
// server and a staff mail client will: it loads, it has not expired and
// is not about to, and it names the SMTP host name.
func tlsWarnings(cfg config.Config, now time.Time) []string {
	if cfg.TLS.CertFile == "" {
		return nil
	}
	cert, err := tlsconf.Load(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return []string{err.Error()}
	}
	leaf := cert.Leaf()
	var out []string
	switch left := leaf.NotAfter.Sub(now); {
	case left <= 0:
		out = append(out, fmt.Sprintf("TLS certificate %s expired on %s", cfg.TLS.CertFile, leaf.NotAfter.Format(time.DateOnly)))
	case left < 21*24*time.Hour:
		out = append(out, fmt.Sprintf("TLS certificate %s expires on %s: renew it, then send SIGHUP to serve", cfg.TLS.CertFile, leaf.NotAfter.Format(time.DateOnly)))
	}
	if now.Before(leaf.NotBefore) {
		out = append(out, fmt.Sprintf("TLS certificate %s is not valid before %s", cfg.TLS.CertFile, leaf.NotBefore.Format(time.DateOnly)))
	}
	if h := cfg.SMTP.Hostname; h != "" {
		if err := leaf.VerifyHostname(h); err != nil {
			out = append(out, fmt.Sprintf("TLS certificate %s does not name smtp.hostname %s (names: %v)", cfg.TLS.CertFile, h, leaf.DNSNames))
		}
	}
	return out
}
