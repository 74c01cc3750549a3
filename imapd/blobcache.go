package imapd

import "sync"

// blobCache keeps the bytes of small messages read ahead (see readAhead),
// by blob key, for all sessions: a blob never changes once committed, and
// in a shared inbox every staff member's client downloads the same new
// messages. With PostgreSQL, an mbsync pull of 10,000 messages into
// memory took 0.40-0.52 s reading every body from the database and
// 0.24-0.28 s finding them here (Dovecot 0.30-0.34 s), in turn on the
// bench's store; the gateway's CPU for it went from 0.23 s to 0.12 s and
// PostgreSQL's from 0.21 s to 0.07 s. The first pull still reads them
// from the database.
//
// It keeps them in two generations (gens) of at most max/2 bytes each. A
// blob bigger than max/16 is never kept.
type blobCache struct {
	mu sync.Mutex
	g  *gens[string, []byte]
}

// blobOverhead is what an entry costs beyond its bytes, roughly.
const blobOverhead = 96

// newBlobCache is a blobCache of max bytes; none (nil, which holds
// nothing) when max is not positive.
func newBlobCache(max int) *blobCache {
	if max <= 0 {
		return nil
	}
	return &blobCache{g: newGens[string, []byte](max, nil)}
}

// get returns the bytes of blob key, or nil when they are not held.
func (c *blobCache) get(key string) []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d, _ := c.g.get(key)
	return d
}

// put keeps the bytes of blob key; the caller does not change d after.
func (c *blobCache) put(key string, d []byte) {
	n := len(d) + len(key) + blobOverhead
	if c == nil || n > c.g.max/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.g.put(key, d, n)
}
