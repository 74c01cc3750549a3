package smtpd

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the listener's Prometheus collectors. A Server without a
// Registerer still counts, into collectors nobody scrapes.
type metrics struct {
	accepted prometheus.Counter
	refusals *prometheus.CounterVec
	size     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "partnermail", Subsystem: "smtp", Name: "messages_accepted_total",
			Help: "Messages answered with 250 after they were durably stored (or the bounce/unsubscribe recorded).",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "partnermail", Subsystem: "smtp", Name: "refused_total",
			Help: "Connections, recipients and messages refused, by reason.",
		}, []string{"reason"}),
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "partnermail", Subsystem: "smtp", Name: "message_size_bytes",
			Help:    "Size of accepted messages.",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 11), // 1 KiB .. 1 GiB
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.accepted, m.refusals, m.size} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("smtpd: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) refused(reason string) { m.refusals.WithLabelValues(reason).Inc() }

func (m *metrics) stored(size int64) {
	m.accepted.Inc()
	m.size.Observe(float64(size))
}
