package outbound

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// maxErrorText bounds the error text kept in the queue row.
const maxErrorText = 500

// attempt sends one claimed email and records the outcome. The claim has
// already moved its next attempt past the lease, so a crash anywhere here
// leaves it to be tried again.
func (w *Worker) attempt(ctx context.Context, e storage.OutboundEmail, rec *recorder) {
	if w.limiter != nil {
		if err := w.limiter.Wait(ctx); err != nil {
			// Shutting down before the email went anywhere: due again now.
			rec.add(e, storage.QueueQueued, w.cfg.Clock(), e.LastError)
			return
		}
	}
	start := time.Now()
	err := w.send(ctx, e)
	took := time.Since(start)
	w.metrics.sendSeconds.Observe(took.Seconds())
	log := w.log.With("email", e.ID, "company", e.CompanyID, "message", e.MessageRowID, "campaign", e.CampaignID, "member", e.MemberID, "rcpt", e.Rcpt,
		"message_id", e.MessageID, "attempt", e.Attempts, "took", took.Round(time.Millisecond))
	if err == nil {
		w.metrics.attempts.WithLabelValues("sent").Inc()
		log.Info("delivery attempt", "result", "sent")
		rec.add(e, storage.QueueSent, time.Time{}, "")
		return
	}
	text := err.Error()
	if len(text) > maxErrorText {
		text = text[:maxErrorText]
	}
	o := classify(err)
	now := w.cfg.Clock()
	deadline := e.ExpiresAt
	if deadline.IsZero() {
		deadline = e.CreatedAt.Add(w.cfg.Lifetime)
	}
	switch {
	case o.permanent:
		w.metrics.attempts.WithLabelValues("failed").Inc()
		log.Warn("delivery attempt", "result", "failed", "code", o.code, "bounce", o.bounce, "hard", o.hard, "err", err)
		rec.add(e, storage.QueueFailed, time.Time{}, text)
		if o.bounce && e.MemberID != 0 {
			w.bounce(e, o.hard, text)
		}
	case !now.Before(deadline):
		w.metrics.attempts.WithLabelValues("expired").Inc()
		log.Warn("delivery attempt", "result", "expired", "code", o.code, "queued", e.CreatedAt, "err", err)
		rec.add(e, storage.QueueFailed, time.Time{}, fmt.Sprintf("lifetime ended after %d attempts: %s", e.Attempts, text))
	default:
		next := now.Add(w.backoff(e.Attempts))
		if next.After(deadline) {
			next = deadline // one last attempt when the lifetime ends
		}
		w.metrics.attempts.WithLabelValues("deferred").Inc()
		log.Info("delivery attempt", "result", "deferred", "code", o.code, "next", next, "err", err)
		rec.add(e, storage.QueueQueued, next, text)
	}
}

// send composes and sends one email.
func (w *Worker) send(ctx context.Context, e storage.OutboundEmail) error {
	email, err := w.cfg.Composer.Compose(ctx, e)
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if email.Close != nil {
		defer email.Close()
	}
	return w.cfg.Transport.Send(ctx, email)
}

// backoff is the delay after the given number of attempts: RetryBase
// doubled per earlier attempt, at most RetryMax, ±25 % jitter so that a
// relay outage does not end in one burst.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.cfg.RetryBase
	for i := 1; i < attempts && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.RetryMax)
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// bounce records a bounce for the member of a permanently refused email; a
// hard one turns the member's notifications off.
func (w *Worker) bounce(e storage.OutboundEmail, hard bool, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := w.cfg.Store.RecordBounce(ctx, e.CompanyID, storage.Bounce{MemberID: e.MemberID, Email: e.Rcpt, Hard: hard, Detail: detail})
	if err != nil {
		w.log.Error("record bounce", "email", e.ID, "member", e.MemberID, "err", err)
	}
}
