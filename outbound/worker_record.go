package outbound

import (
	"context"
	"sync"
	"time"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
)

// finishBatcher is a store that records many outcomes in one commit.
type finishBatcher interface {
	FinishAttempts(ctx context.Context, es []storage.OutboundEmail) error
}

// maxRecordBatch bounds the outcomes written in one commit.
const maxRecordBatch = 256

// recorder writes the outcomes of attempts behind the senders, batched:
// a sender goes on to its next email while the outcome of the last one
// commits together with the others'. Until an outcome is written the
// email's lease keeps it from being claimed again; a crash in between
// sends it once more when the lease ends.
type recorder struct {
	w  *Worker
	ch chan storage.OutboundEmail
	wg sync.WaitGroup
}

func (w *Worker) startRecorder() *recorder {
	r := &recorder{w: w, ch: make(chan storage.OutboundEmail, 4*maxRecordBatch)}
	b, _ := w.cfg.Store.(finishBatcher)
	n := 1
	if b == nil {
		n = w.cfg.Workers // one write per outcome: several at once
	}
	for range n {
		r.wg.Add(1)
		go r.loop(b)
	}
	return r
}

// add queues the outcome of one attempt of e.
func (r *recorder) add(e storage.OutboundEmail, state string, next time.Time, text string) {
	r.ch <- storage.OutboundEmail{ID: e.ID, CompanyID: e.CompanyID, MessageRowID: e.MessageRowID,
		State: state, NextAttemptAt: next, LastError: text}
}

// close writes what is queued and returns.
func (r *recorder) close() {
	close(r.ch)
	r.wg.Wait()
}

func (r *recorder) loop(b finishBatcher) {
	defer r.wg.Done()
	batch := make([]storage.OutboundEmail, 0, maxRecordBatch)
	for e := range r.ch {
		batch = append(batch[:0], e)
		if b != nil {
		fill:
			for len(batch) < maxRecordBatch {
				select {
				case e, ok := <-r.ch:
					if !ok {
						break fill
					}
					batch = append(batch, e)
				default:
					break fill
				}
			}
		}
		r.write(b, batch)
	}
}

// write records a batch with a context of its own: outcomes are written
// even while the worker shuts down. A failed batch is retried one by one,
// so that one bad row costs only its own outcome.
func (r *recorder) write(b finishBatcher, batch []storage.OutboundEmail) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b != nil && len(batch) > 1 {
		err := b.FinishAttempts(ctx, batch)
		if err == nil {
			r.publish(ctx, batch)
			return
		}
		r.w.log.Warn("record delivery attempts", "emails", len(batch), "err", err)
	}
	written := make([]storage.OutboundEmail, 0, len(batch))
	for _, e := range batch {
		if err := r.w.cfg.Store.FinishAttempt(ctx, e.ID, e.State, e.NextAttemptAt, e.LastError); err != nil {
			// The lease runs out and the email is tried again: a
			// duplicate if it was sent.
			r.w.log.Error("record delivery attempt", "email", e.ID, "state", e.State, "err", err)
			continue
		}
		written = append(written, e)
	}
	r.publish(ctx, written)
}

// publish tells IMAP sessions (IDLE) of the companies whose staff messages
// had notifications recorded: the delivery keyword in Sent may have
// changed.
func (r *recorder) publish(ctx context.Context, written []storage.OutboundEmail) {
	if r.w.cfg.Hub == nil {
		return
	}
	seen := map[int64]bool{}
	for _, e := range written {
		if e.MessageRowID == 0 || seen[e.CompanyID] {
			continue
		}
		seen[e.CompanyID] = true
		if err := r.w.cfg.Hub.Publish(ctx, notify.Mail, e.CompanyID); err != nil {
			r.w.log.Warn("publish delivery change", "email", e.ID, "err", err)
		}
	}
}
