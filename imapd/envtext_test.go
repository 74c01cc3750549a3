package imapd

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// TestTextCache: texts come back with their thread's address, the
// bitmap agrees with the maps after any mix of listings, a text used
// since the last turn of generations is kept, and memory stays bounded.
func TestTextCache(t *testing.T) {
	const max = 64 * (textOverhead + 10)
	c := newTextCache(max)
	text := func(id int64) string { return "1\x1f" + strconv.FormatInt(id, 10) } // short texts
	reply := func(thread int64) string { return "thread+" + strconv.FormatInt(thread, 10) + "@x" }
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 2000; round++ {
		// A listing of a few ids, from a range wider than the cache holds
		// and crossing a bitmap block.
		var msgs []storage.IMAPMessage
		seen := map[int64]bool{}
		for range 1 + rng.IntN(20) {
			id := bitBlock - 100 + rng.Int64N(200)
			if seen[id] {
				continue
			}
			seen[id] = true
			m := storage.IMAPMessage{MessageID: id, ThreadID: id % 7}
			if !c.has(id) {
				m.Cached.Envelope = text(id) // what the database answers
			}
			msgs = append(msgs, m)
		}
		replies := c.fill(msgs, reply)
		for i, m := range msgs {
			// A text held when the query ran may have been dropped by
			// the time fill got to it: it comes back empty, and FETCH
			// reads it again (uncached).
			lost := m.Cached.Envelope == "" && !c.has(m.MessageID)
			if !lost && m.Cached.Envelope != text(m.MessageID) || replies[i] != reply(m.ThreadID) {
				t.Fatalf("round %d: message %d: text %q, reply %q", round, m.MessageID, m.Cached.Envelope, replies[i])
			}
			if _, ok := c.g.cur[m.MessageID]; !ok && !lost && len(c.g.cur) > 0 {
				// The generations turned during this listing: the text
				// went into the old one, which must still hold it.
				if _, ok := c.g.old[m.MessageID]; !ok {
					t.Fatalf("round %d: message %d listed but held in neither generation", round, m.MessageID)
				}
			}
		}
		for id := int64(bitBlock - 100); id < bitBlock+100; id++ {
			_, inCur := c.g.cur[id]
			_, inOld := c.g.old[id]
			if c.has(id) != (inCur || inOld) || inCur && inOld {
				t.Fatalf("round %d: id %d: has %v, in current %v, in old %v", round, id, c.has(id), inCur, inOld)
			}
		}
		if c.g.curBytes > max/2 || len(c.g.cur)+len(c.g.old) > max/textOverhead {
			t.Fatalf("round %d: %d bytes in the current generation, %d+%d entries", round, c.g.curBytes, len(c.g.cur), len(c.g.old))
		}
	}
	var off *textCache = newTextCache(0)
	if off.has(1) || off != nil {
		t.Errorf("a cache of 0 bytes holds texts")
	}
}
