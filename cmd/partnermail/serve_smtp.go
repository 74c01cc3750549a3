package main

import (
	"fmt"

	"github.com/partnermail/partnermail/smtpd"
	"github.com/partnermail/partnermail/smtpd/authcheck"
)

// wireSMTP adds the inbound SMTP listener partners' mail servers deliver to.
func (g *gateway) wireSMTP() error {
	c := g.cfg.SMTP
	if c.Listen == "" {
		return nil
	}
	log := g.log.With("service", "smtp")
	mode, err := authcheck.ParseMode(c.AuthChecks)
	if err != nil {
		return err
	}
	var auth *authcheck.Checker
	if mode != authcheck.ModeOff {
		id := c.AuthservID
		if id == "" {
			id = c.Hostname
		}
		if auth, err = authcheck.New(authcheck.Config{AuthServID: id, Mode: mode, Logger: log}); err != nil {
			return fmt.Errorf("smtp auth checks: %w", err)
		}
	}
	srv, err := smtpd.New(smtpd.Config{
		Store:           g.store,
		Tokens:          g.tokens,
		Hub:             g.hub,
		Auth:            auth,
		TLS:             g.tls, // STARTTLS when a certificate is configured
		Hostname:        c.Hostname,
		MaxMessageBytes: c.MaxMessageBytes,
		MaxRecipients:   c.MaxRecipients,
		MaxLineLength:   c.MaxLineLength,
		ReadTimeout:     c.ReadTimeout.Duration,
		WriteTimeout:    c.WriteTimeout.Duration,
		MaxConnsPerIP:   c.MaxConnsPerIP,
		Logger:          log,
		Registerer:      g.reg,
	})
	if err != nil {
		return err
	}
	g.add("smtp", c.Listen, srv)
	return nil
}
