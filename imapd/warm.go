package imapd

import (
	"context"
	"fmt"
	"time"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
)

// warmBatch is how many messages the warmer lists at a time; it reads
// their blobs readBatch at a time.
const warmBatch = 256

// warmLookback is how far below the last message it parsed the warmer
// looks again after new mail: with PostgreSQL a delivery may commit
// after one with a higher id.
const warmLookback = 1000

// warm fills the database's ENVELOPE cache in the background: first for
// every message stored without one (mail that arrived while no IMAP
// view ran, a bulk import, an older version's store), then for new mail
// as it arrives. Without it the first FETCH ENVELOPE of a big folder
// parses every message's blob while the client waits (Dovecot's LDA
// likewise fills its cache at delivery). FETCH still parses whatever is
// missing itself; the warmer only takes that wait away.
func (s *Server) warm() {
	defer close(s.warmDone)
	wake, unsub := s.cfg.Hub.Subscribe(notify.Mail, 0)
	defer unsub()
	var after, top int64 // where the next list starts; how far all is listed
	start, total, first := time.Now(), 0, true
	for {
		// Read first: a list shorter than warmBatch has looked at every
		// message up to last.
		last, err := s.cfg.Store.IMAPLastMessageID(s.ctx)
		var list []storage.IMAPUncachedMessage
		if err == nil {
			list, err = s.cfg.Store.IMAPUncached(s.ctx, after, warmBatch)
		}
		if err == nil && len(list) > 0 {
			if err = s.warmList(s.ctx, list); err == nil { // else these are tried again
				after = list[len(list)-1].ID
				total += len(list)
			}
		}
		if err == nil {
			top = max(top, after)
			if len(list) < warmBatch {
				top = max(top, last)
			}
		}
		if s.ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("imap: filling the envelope cache", "err", err)
		} else if len(list) > 0 {
			continue
		}
		if first && err == nil {
			if total > 0 {
				s.log.Info("imap: envelope cache filled", "messages", total, "took", time.Since(start).Round(time.Millisecond))
			}
			if s.cfg.Observe.WarmedUp != nil {
				s.cfg.Observe.WarmedUp()
			}
			first = false
		}
		select {
		case <-s.ctx.Done():
			return
		case <-wake:
		case <-time.After(time.Minute): // after an error, or a wake-up lost
		}
		// Let a burst of deliveries commit before reading them.
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		// From below how far all is listed, not from after: a wake-up
		// that finds nothing (a flag change) must not move the start
		// further back each time, nor start from 0 when the first pass
		// found everything cached; either way every wake-up came to
		// walk the whole table (200 ms at 100,000 messages).
		after = max(0, top-s.cfg.warmLookback)
	}
}

// warmList parses the headers of list and stores their ENVELOPEs. A
// message whose blob cannot be read is left to FETCH (which reports it).
func (s *Server) warmList(ctx context.Context, list []storage.IMAPUncachedMessage) error {
	strip := s.cfg.AuthservID != "" // every listed message is a shared one
	byCompany := map[int64]map[int64]storage.IMAPCached{}
	err := inBatches(ctx, s, list, func(m storage.IMAPUncachedMessage) string { return m.RawKey }, func(m storage.IMAPUncachedMessage, data []byte) error {
		li, err := s.warmOne(ctx, m.RawKey, data, strip)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Debug("imap: envelope cache", "message", m.ID, "err", err)
			return nil
		}
		if byCompany[m.CompanyID] == nil {
			byCompany[m.CompanyID] = map[int64]storage.IMAPCached{}
		}
		byCompany[m.CompanyID][m.ID] = storage.IMAPCached{Envelope: li.encode()}
		return nil
	})
	if err != nil {
		return err
	}
	for co, c := range byCompany {
		if err := s.cfg.Store.IMAPSetCaches(ctx, co, c); err != nil {
			return err
		}
		if s.cfg.Observe.Warmed != nil {
			s.cfg.Observe.Warmed(len(c))
		}
	}
	return nil
}

// warmOne parses one message's header: from data when the batch read
// held it, else from its blob.
func (s *Server) warmOne(ctx context.Context, key string, data []byte, strip bool) (*light, error) {
	b, err := s.openBlob(ctx, key, data)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	defer b.Close()
	return blobLight(b, strip, s.cfg.AuthservID)
}
