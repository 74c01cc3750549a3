package outbound

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's Prometheus metrics.
type metrics struct {
	attempts    *prometheus.CounterVec // by result: sent, deferred, failed, expired
	sendSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, stats queueStatser, clock func() time.Time) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partnermail_outbound_attempts_total",
			Help: "Delivery attempts of outbound emails, by result (sent, deferred, failed, expired).",
		}, []string{"result"}),
		sendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "partnermail_outbound_send_seconds",
			Help:    "Time to compose and send one outbound email.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
	}
	for _, r := range []string{"sent", "deferred", "failed", "expired"} {
		m.attempts.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.attempts, m.sendSeconds}
	if stats != nil {
		cs = append(cs, &queueCollector{stats: stats, clock: clock})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var (
	depthDesc = prometheus.NewDesc("partnermail_outbound_queue_depth",
		"Outbound emails waiting in the queue (all companies).", nil, nil)
	oldestDesc = prometheus.NewDesc("partnermail_outbound_queue_oldest_seconds",
		"Age of the oldest queued outbound email; 0 when the queue is empty.", nil, nil)
)

// queueCollector reads the queue depth from the database at scrape time,
// so that every process sharing the queue reports the same figures.
type queueCollector struct {
	stats queueStatser
	clock func() time.Time
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- depthDesc
	ch <- oldestDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	depth, oldest, err := c.stats.QueueStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.clock().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
