package imapd

import (
	"context"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// cacheWrite is a parsed layout to store in the database cache.
type cacheWrite struct {
	companyID, messageID int64
	c                    storage.IMAPCached
}

// writeCaches stores parsed layouts in the background, in batches, so a
// FETCH never waits for a commit; entries are dropped when it falls
// behind (they are a cache: the next FETCH parses again).
func (s *Server) writeCaches() {
	defer close(s.cacheDone)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	pending := map[int64]map[int64]storage.IMAPCached{}
	n := 0
	flush := func() {
		for co, m := range pending {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.cfg.Store.IMAPSetCaches(ctx, co, m); err != nil {
				s.log.Warn("imap: store layout cache", "company", co, "entries", len(m), "err", err)
			}
			cancel()
		}
		pending, n = map[int64]map[int64]storage.IMAPCached{}, 0
	}
	for {
		select {
		case w, ok := <-s.cacheCh:
			if !ok {
				flush()
				return
			}
			if pending[w.companyID] == nil {
				pending[w.companyID] = map[int64]storage.IMAPCached{}
			}
			old := pending[w.companyID][w.messageID]
			if w.c.Envelope == "" {
				w.c.Envelope = old.Envelope
			}
			if w.c.BodyStructure == "" {
				w.c.BodyStructure = old.BodyStructure
			}
			pending[w.companyID][w.messageID] = w.c
			if n++; n >= 1000 {
				flush()
			}
		case <-t.C:
			if n > 0 {
				flush()
			}
		}
	}
}

// closeCaches stops the writer after it stored what is queued.
func (s *Server) closeCaches(ctx context.Context) {
	s.cacheMu.Lock()
	if !s.cacheClosed {
		s.cacheClosed = true
		close(s.cacheCh)
	}
	s.cacheMu.Unlock()
	select {
	case <-s.cacheDone:
	case <-ctx.Done():
	}
}

// storeCache queues a layout for the database cache.
func (s *Server) storeCache(companyID, messageID int64, c storage.IMAPCached) {
	s.cacheMu.RLock()
	defer s.cacheMu.RUnlock()
	if s.cacheClosed {
		return
	}
	select {
	case s.cacheCh <- cacheWrite{companyID, messageID, c}:
	default:
	}
}
