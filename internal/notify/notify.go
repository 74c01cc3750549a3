// Package notify wakes the parts of partnermail that wait on a company's
// data: IMAP sessions in IDLE when messages or flags change, the outbound
// worker when emails are queued. Local carries events inside one process;
// a PostgreSQL hub (LISTEN/NOTIFY) carries them across processes.
package notify

import (
	"context"
	"sync"
)

// Topic names what changed.
type Topic string

// Topics.
const (
	Mail  Topic = "mail"  // messages, flags or mailboxes of a company
	Queue Topic = "queue" // outbound emails queued or changed
)

// Hub publishes and delivers change events. An event only says "look
// again": subscribers re-read the database, so coalescing is harmless.
type Hub interface {
	// Publish tells every subscriber of topic for companyID, and of topic
	// for all companies (0), that something changed.
	Publish(ctx context.Context, topic Topic, companyID int64) error
	// Subscribe returns a channel that receives (coalesced) wake-ups for
	// companyID, or for every company when companyID is 0, and a function
	// that ends the subscription.
	Subscribe(topic Topic, companyID int64) (<-chan struct{}, func())
}

type key struct {
	topic   Topic
	company int64
}

// Local is an in-process Hub.
type Local struct {
	mu   sync.Mutex
	subs map[key]map[chan struct{}]struct{}
}

var _ Hub = (*Local)(nil)

// NewLocal returns an empty in-process hub.
func NewLocal() *Local { return &Local{subs: make(map[key]map[chan struct{}]struct{})} }

// Publish wakes the subscribers without blocking.
func (h *Local) Publish(_ context.Context, topic Topic, companyID int64) error {
	h.Wake(topic, companyID)
	return nil
}

// Wake delivers an event to this process's subscribers only; a cross-process
// hub calls it for the events it receives.
func (h *Local) Wake(topic Topic, companyID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range []key{{topic, companyID}, {topic, 0}} {
		for ch := range h.subs[k] {
			select {
			case ch <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
		if companyID == 0 {
			break
		}
	}
}

// Subscribe registers a coalescing channel.
func (h *Local) Subscribe(topic Topic, companyID int64) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	k := key{topic, companyID}
	h.mu.Lock()
	if h.subs[k] == nil {
		h.subs[k] = make(map[chan struct{}]struct{})
	}
	h.subs[k][ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[k], ch)
			if len(h.subs[k]) == 0 {
				delete(h.subs, k)
			}
			h.mu.Unlock()
		})
	}
}

// WakeAll wakes every subscriber of every topic and company: a
// cross-process hub calls it after it may have missed events (a lost
// connection), so everyone re-reads the database.
func (h *Local) WakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}
