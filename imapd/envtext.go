package imapd

import (
	"sync"

	"github.com/partnermail/partnermail/storage"
)

// textCache keeps the cached ENVELOPE texts (light.encode's form) of
// shared messages in memory, by message id, for all sessions, with each
// message's thread address: a text never changes once stored, nor does
// a message's thread, and a FETCH 1:* (ENVELOPE) that finds its texts
// here reads only the folder's UID rows from the database. At 100,000
// messages the texts are 35 MB that PostgreSQL otherwise reads, sends
// and the driver copies into new strings, for every listing.
//
// It holds two generations (gens) of at most max/2 bytes each: a text
// used since the last turn is never lost.
//
// A listing looks up every message twice, once to leave its text out of
// the query (has) and once to take it (fill). At 100,000 messages the
// maps do not fit the CPU's caches and each lookup is a miss, so has
// reads a bitmap of the ids held instead (about 8 KB per 64,000 ids).
type textCache struct {
	mu   sync.Mutex
	g    *gens[int64, envText]
	held map[int64]*[bitBlock / 64]uint64 // by id / bitBlock
}

// envText is one message's cached text and its thread's address.
type envText struct {
	text, reply string
}

const bitBlock = 1 << 16

// textOverhead is what an entry costs beyond its text (map slot, string
// header, allocation rounding), roughly.
const textOverhead = 64

// newTextCache is a textCache of max bytes; none (nil, which holds
// nothing) when max is not positive.
func newTextCache(max int) *textCache {
	if max <= 0 {
		return nil
	}
	c := &textCache{held: make(map[int64]*[bitBlock / 64]uint64)}
	c.g = newGens[int64, envText](max, func(id int64) { c.mark(id, false) })
	return c
}

// has reports whether the text of message id is held.
func (c *textCache) has(id int64) bool {
	if c == nil || id <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.held[id/bitBlock]
	return b != nil && b[id%bitBlock/64]&(1<<(id%64)) != 0
}

func (c *textCache) mark(id int64, on bool) {
	b := c.held[id/bitBlock]
	if b == nil {
		if !on {
			return
		}
		b = new([bitBlock / 64]uint64)
		c.held[id/bitBlock] = b
	}
	if on {
		b[id%bitBlock/64] |= 1 << (id % 64)
	} else {
		b[id%bitBlock/64] &^= 1 << (id % 64)
	}
}

// fill sets the Cached.Envelope of each shared message of msgs that
// lacks one to the text held, holds the texts of the others, and returns
// every message's thread address: held with the text, else replyOf's
// (called without the lock: it may have to mint the address).
func (c *textCache) fill(msgs []storage.IMAPMessage, replyOf func(threadID int64) string) []string {
	replies := make([]string, len(msgs))
	for i, m := range msgs {
		if m.Cached.Envelope != "" {
			replies[i] = replyOf(m.ThreadID)
		}
	}
	var missed []int
	c.mu.Lock()
	for i := range msgs {
		m := &msgs[i]
		switch {
		case m.Cached.Envelope != "":
			if m.MessageID > 0 {
				c.put(m.MessageID, envText{m.Cached.Envelope, replies[i]})
			}
			continue
		case m.MessageID <= 0:
			missed = append(missed, i)
			continue
		}
		if e, ok := c.g.get(m.MessageID); ok {
			m.Cached.Envelope, replies[i] = e.text, e.reply
		} else {
			missed = append(missed, i)
		}
	}
	c.mu.Unlock()
	for _, i := range missed {
		replies[i] = replyOf(msgs[i].ThreadID)
	}
	return replies
}

func (c *textCache) put(id int64, e envText) {
	c.g.put(id, e, len(e.text)+textOverhead)
	c.mark(id, true)
}
