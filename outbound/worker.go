package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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

	rec := w.startRecorder()
	r := &round{
		jobs: make(chan storage.OutboundEmail, w.batch()),
		done: make(chan struct{}, 1),
	}
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range r.jobs {
				if ctx.Err() != nil {
					// Claimed but not started when the worker stops: due
					// again at once (its claim still counts an attempt).
					rec.add(e, storage.QueueQueued, w.cfg.Clock(), e.LastError)
				} else {
					w.attempt(sendCtx, e, rec)
				}
				r.finished()
			}
		}()
	}
	err := w.claimLoop(ctx, r, wake, once)
	close(r.jobs)
	wg.Wait()
	rec.close()
	return err
}

// batch is how many claimed emails wait for a sender: enough to keep
// every sender busy while a claim commits, few enough that the last of
// them is sent well within its lease at the configured rate.
func (w *Worker) batch() int {
	n := max(512, 64*w.cfg.Workers)
	if w.cfg.Rate > 0 {
		n = min(n, max(1, int(w.cfg.Rate*w.cfg.Lease.Seconds()/2)))
	}
	return n
}

// round is the hand-over between the claimer and the senders.
type round struct {
	jobs     chan storage.OutboundEmail // claimed, not yet taken by a sender
	inflight atomic.Int64               // claimed and not finished
	done     chan struct{}              // a send finished (coalesced)
}

func (r *round) finished() {
	r.inflight.Add(-1)
	select {
	case r.done <- struct{}{}:
	default:
	}
}

// claimLoop keeps the senders' queue filled. Once the database has
// nothing more due, it waits for a wake-up or the poll timer instead.
func (w *Worker) claimLoop(ctx context.Context, r *round, wake <-chan struct{}, once bool) error {
	// The queue holds up to size emails, claimed chunk by chunk: a claim
	// waits for a commit, so the queue is refilled long before it runs
	// dry; small chunks let processes sharing the database split a
	// campaign between them.
	size := cap(r.jobs)
	chunk := min(size, max(32, 16*w.cfg.Workers))
	timer := time.NewTimer(w.cfg.Poll)
	defer timer.Stop()
	drained, claimNow := false, true
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if room := size - len(r.jobs); room > 0 && (room >= chunk || claimNow) {
			claimNow = false
			room = min(room, chunk)
			now := w.cfg.Clock()
			claimed, err := w.cfg.Store.ClaimDue(ctx, now, now.Add(w.cfg.Lease), room)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if once {
					return err
				}
				w.log.Error("claim due emails", "err", err)
			}
			r.inflight.Add(int64(len(claimed)))
			for _, e := range claimed {
				r.jobs <- e // never blocks: there was room
			}
			drained = err != nil || len(claimed) < room
			if once && len(claimed) == 0 && r.inflight.Load() == 0 {
				return nil // nothing due, nothing in flight
			}
		}
		if once {
			// Wait for a send to finish, then look again.
			select {
			case <-r.done:
				claimNow = drained
			case <-ctx.Done():
				return ctx.Err()
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
		done := r.done
		if drained {
			done = nil // nothing more is due: sends finishing change nothing
		}
		select {
		case <-wake:
			claimNow = true
		case <-timer.C:
			claimNow = true
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
