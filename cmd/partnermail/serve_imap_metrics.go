package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnermail/partnermail/imapd"
)

// imapObserver registers the IMAP command latency and login metrics and
// returns the observer that feeds them.
func (g *gateway) imapObserver() imapd.Observer {
	cmds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "partnermail_imap_command_seconds",
		Help:    "IMAP command latency, by command (IDLE excluded).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10), // 0.5 ms .. 131 s
	}, []string{"command"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnermail_imap_command_errors_total",
		Help: "IMAP commands answered NO or BAD, by command.",
	}, []string{"command"})
	logins := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnermail_imap_logins_total",
		Help: "IMAP LOGIN attempts by result: ok, failed (wrong password or unknown login), limited, error.",
	}, []string{"result"})
	for _, r := range []string{"ok", "failed", "limited", "error"} {
		logins.WithLabelValues(r)
	}
	warmed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "partnermail_imap_envelopes_warmed_total",
		Help: "Messages whose ENVELOPE the background warmer parsed and cached.",
	})
	warmedUp := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "partnermail_imap_envelope_warmup_done",
		Help: "1 once the warmer has cached every message stored before the start.",
	})
	g.reg.MustRegister(cmds, errs, logins, warmed, warmedUp)
	return imapd.Observer{
		Command: func(name string, d time.Duration, failed bool) {
			cmds.WithLabelValues(name).Observe(d.Seconds())
			if failed {
				errs.WithLabelValues(name).Inc()
			}
		},
		Login:    func(result string) { logins.WithLabelValues(result).Inc() },
		Warmed:   func(n int) { warmed.Add(float64(n)) },
		WarmedUp: func() { warmedUp.Set(1) },
	}
}
