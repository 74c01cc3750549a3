package imapd

import (
	"sync"

	"github.com/partnermail/partnermail/storage"
)

// textCache keeps the cached ENVELOPE texts (light.encode's form) of
// shared messages in memory, by message id, for all sessions: a text
// never changes once stored, and a FETCH 1:* (ENVELOPE) that finds its
// texts here reads only the folder's UID rows from the database. At
// 100,000 messages the texts are 35 MB that PostgreSQL otherwise reads,
// sends and the driver copies into new strings, for every listing.
//
// It holds two generations of at most max/2 bytes each: texts go into
// the current one, and a text found in the old one moves back into it;
// when the current one is full it becomes the old one, and the old one
// is dropped. A text used since the last turn is never lost.
type textCache struct {
	mu       sync.Mutex
	max      int
	cur, old map[int64]string
	curBytes int
}

// textOverhead is what an entry costs beyond its text (map slot, string
// header, allocation rounding), roughly.
const textOverhead = 48

// newTextCache is a textCache of max bytes; none (nil, which holds
// nothing) when max is not positive.
func newTextCache(max int) *textCache {
	if max <= 0 {
		return nil
	}
	return &textCache{max: max, cur: make(map[int64]string)}
}

// has reports whether the text of message id is held.
func (c *textCache) has(id int64) bool {
	if c == nil || c.max <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[id]; ok {
		return true
	}
	_, ok := c.old[id]
	return ok
}

// fill sets the Cached.Envelope of each message of msgs (by MessageID)
// that lacks one to the text held, and holds the texts of the others.
func (c *textCache) fill(msgs []storage.IMAPMessage) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range msgs {
		id, text := msgs[i].MessageID, &msgs[i].Cached.Envelope
		if id == 0 {
			continue
		}
		if *text != "" {
			c.putLocked(id, *text)
			continue
		}
		if t, ok := c.cur[id]; ok {
			*text = t
		} else if t, ok := c.old[id]; ok {
			*text = t
			delete(c.old, id)
			c.putLocked(id, t)
		}
	}
}

// put holds the text of message id.
func (c *textCache) put(id int64, text string) {
	if c == nil || c.max <= 0 || text == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(id, text)
}

func (c *textCache) putLocked(id int64, text string) {
	if _, ok := c.cur[id]; ok {
		return
	}
	c.cur[id] = text
	c.curBytes += len(text) + textOverhead
	if c.curBytes > c.max/2 {
		c.old, c.cur, c.curBytes = c.cur, make(map[int64]string, len(c.cur)), 0
	}
}
