package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
)

// WorkerStore is the part of the store the worker uses.
type WorkerStore interface {
	ClaimDue(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.OutboundEmail, error)
	FinishAttempt(ctx context.Context, id int64, state string, next time.Time, lastErr string) error
	RecordBounce(ctx context.Context, companyID int64, b storage.Bounce) (storage.Bounce, error)
}

// queueStatser is what a store offers for the queue depth metrics.
type queueStatser interface {
	QueueStats(ctx context.Context) (depth int64, oldest time.Time, err error)
}

// WorkerConfig configures a Worker. Zero values mean defaults.
type WorkerConfig struct {
	Store     WorkerStore // required
	Composer  Composer    // required
	Transport Transport   // required; the worker does not close it
	Hub       notify.Hub  // wakes the worker when emails are queued; optional
	Log       *slog.Logger
	Clock     func() time.Time // default time.Now
	// Lifetime is how long an email is retried after it was queued, unless
	// its ExpiresAt says otherwise (default 5 days).
	Lifetime time.Duration
	// Rate bounds the emails sent per second (0: no bound).
	Rate float64
	// Workers is how many emails are sent at once, each over its own relay
	// connection (default 4).
	Workers int
	// Registerer receives the worker's metrics; nil: none.
	Registerer prometheus.Registerer
	// Poll is how often the queue is checked without a wake-up (default 30s):
	// it picks up retries that come due.
	Poll time.Duration
	// Lease is how long a claimed email stays away from other claimers
	// (default 10 minutes): after a crash, it is retried once it ends.
	Lease time.Duration
	// Drain bounds how long sends in flight may take after Run's context
	// ends (default 30s).
	Drain time.Duration
	// RetryBase is the delay before the first retry (default 1 minute); it
	// doubles with each attempt up to RetryMax (default 4 hours), with
	// ±25 % jitter.
	RetryBase, RetryMax time.Duration
}

// Worker sends the queued emails: it claims due rows, composes each one,
// sends it through the transport and records the outcome. Several workers
// (processes) may share a PostgreSQL queue.
type Worker struct {
	cfg     WorkerConfig
	log     *slog.Logger
	limiter *rate.Limiter
	metrics *metrics
}

// NewWorker checks cfg, fills in defaults and registers the metrics.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Store == nil || cfg.Composer == nil || cfg.Transport == nil {
		return nil, errors.New("outbound worker: Store, Composer and Transport are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Lifetime, 5*24*time.Hour)
	def(&cfg.Poll, 30*time.Second)
	def(&cfg.Lease, 10*time.Minute)
	def(&cfg.Drain, 30*time.Second)
	def(&cfg.RetryBase, time.Minute)
	def(&cfg.RetryMax, 4*time.Hour)
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	w := &Worker{cfg: cfg, log: cfg.Log}
	if cfg.Rate > 0 {
		w.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	stats, _ := cfg.Store.(queueStatser)
	m, err := newMetrics(cfg.Registerer, stats, cfg.Clock)
	if err != nil {
		return nil, fmt.Errorf("outbound worker metrics: %w", err)
	}
	w.metrics = m
	return w, nil
}

// Run sends due emails until ctx ends, then lets the sends in flight finish
// (for at most Drain) and returns ctx's error.
func (w *Worker) Run(ctx context.Context) error {
	return w.run(ctx, false)
}

// Flush attempts every email due now once and returns when none is left
// due (retries are scheduled later). For tests and one-shot commands.
func (w *Worker) Flush(ctx context.Context) error {
	return w.run(ctx, true)
}

func (w *Worker) run(ctx context.Context, once bool) error {
	var wake <-chan struct{}
	if w.cfg.Hub != nil {
		ch, unsubscribe := w.cfg.Hub.Subscribe(notify.Queue, 0)
		defer unsubscribe()
		wake = ch
	}
	// Sends outlive ctx by up to Drain, so that an email handed to the
	// relay has its outcome recorded.
	sendCtx, stopSends := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSends()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.cfg.Drain, stopSends)
		context.AfterFunc(sendCtx, func() { t.Stop() })
	})
	defer stop()

	n := w.cfg.Workers
	jobs := make(chan storage.OutboundEmail)
	idle := make(chan struct{}, n) // one token per idle sender
	var wg sync.WaitGroup
	for range n {
		idle <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				w.attempt(sendCtx, e)
				idle <- struct{}{}
			}
		}()
	}
	err := w.claimLoop(ctx, jobs, idle, wake, once)
	close(jobs)
	wg.Wait()
	return err
}

// claimLoop claims as many due emails as there are idle senders and hands
// them over, so that every claimed email is attempted at once.
func (w *Worker) claimLoop(ctx context.Context, jobs chan<- storage.OutboundEmail, idle chan struct{}, wake <-chan struct{}, once bool) error {
	n := cap(idle)
	timer := time.NewTimer(w.cfg.Poll)
	defer timer.Stop()
	for {
		// Wait for one idle sender, then take every other idle one.
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
		free := 1
	more:
		for free < n {
			select {
			case <-idle:
				free++
			default:
				break more
			}
		}
		now := w.cfg.Clock()
		claimed, err := w.cfg.Store.ClaimDue(ctx, now, now.Add(w.cfg.Lease), free)
		for _, e := range claimed {
			jobs <- e
		}
		for range free - len(claimed) {
			idle <- struct{}{}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if once {
				return err
			}
			w.log.Error("claim due emails", "err", err)
		} else if len(claimed) == free {
			continue // there may be more due right now
		}
		if once {
			// Done when nothing was due with every sender idle; else wait
			// for the sends in flight and look again.
			if len(claimed) == 0 && free == n {
				return nil
			}
			for range n {
				<-idle
			}
			for range n {
				idle <- struct{}{}
			}
			continue
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(w.cfg.Poll)
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
