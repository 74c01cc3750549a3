package main

import (
	"fmt"

	"github.com/partnermail/partnermail/imapd"
	"github.com/partnermail/partnermail/internal/auth"
)

// wireIMAP adds the IMAP view: the plain listener (STARTTLS when a
// certificate is configured) and, with a certificate, the implicit-TLS one.
func (g *gateway) wireIMAP() error {
	srv, err := imapd.New(imapd.Config{
		Store:        g.store,
		Hub:          g.hub,
		Tokens:       g.tokens,
		Logger:       g.log.With("service", "imap"),
		InsecureAuth: g.cfg.IMAP.InsecureAuth,
		AuthservID:   g.cfg.SMTP.AuthservID,
		Limiter:      &auth.Limiter{},
	})
	if err != nil {
		return fmt.Errorf("imap: %w", err)
	}
	g.add("imap", g.cfg.IMAP.Listen, srv)
	return nil
}
