package main

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/smtpd"
)

// wireSubmission adds the SMTP submission listeners staff mail clients
// send through: [submission] listen (plain with STARTTLS when a
// certificate is configured) and listen_tls (implicit TLS). Both share one
// Poster, and the failed-login limiter of IMAP.
func (g *gateway) wireSubmission() error {
	c := g.cfg.Submission
	if c.Listen == "" && c.ListenTLS == "" {
		return nil
	}
	if c.ListenTLS != "" && g.tls == nil {
		return errors.New("submission.listen_tls needs a certificate: set [tls] cert_file and key_file")
	}
	if g.tls == nil && !c.InsecureAuth {
		g.log.Warn("submission: no [tls] certificate and insecure_auth off: no client can log in", "listen", c.Listen)
	}
	poster, err := outbound.NewPoster(outbound.PosterConfig{
		Store: g.store, Hub: g.hub, Lifetime: g.cfg.Outbound.Lifetime.Duration,
		Log: g.log.With("service", "submission"),
	})
	if err != nil {
		return err
	}
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnermail_submission_events_total",
		Help: "Submission logins (login_ok, login_failed, login_limited) and transactions (posted, refused, failed).",
	}, []string{"event"})
	g.reg.MustRegister(events)
	mk := func(implicit bool) (*smtpd.Submission, error) {
		return smtpd.NewSubmission(smtpd.SubmissionConfig{
			Store: g.store, Poster: poster, Tokens: g.tokens,
			Hostname:     g.cfg.SMTP.Hostname,
			TLSConfig:    g.tls,
			ImplicitTLS:  implicit,
			InsecureAuth: c.InsecureAuth,
			Limiter:      g.logins, // shared with IMAP: one budget per account
			Observe:      func(ev string) { events.WithLabelValues(ev).Inc() },
			Logger:       g.log,
		})
	}
	if c.Listen != "" {
		srv, err := mk(false)
		if err != nil {
			return err
		}
		g.add("submission", c.Listen, srv)
	}
	if c.ListenTLS != "" {
		srv, err := mk(true)
		if err != nil {
			return err
		}
		g.add("submissions", c.ListenTLS, srv)
	}
	return nil
}
