package outbound

import (
	"sync"
	"time"
)

// DefaultComposeCacheTTL is how long a TemplateComposer reuses what it
// read for one email for the next ones (company, staff, team, group,
// campaign, staff message): a campaign to 10,000 members reads each once,
// and then one member row per email.
const DefaultComposeCacheTTL = 30 * time.Second

// composeCacheMax bounds the entries of one cache; when full it starts
// over.
const composeCacheMax = 4096

// ttlCache remembers values for a while. Safe for concurrent use.
type ttlCache[K comparable, V any] struct {
	ttl   time.Duration // 0: caching off
	clock func() time.Time
	mu    sync.Mutex
	m     map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, clock func() time.Time) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, clock: clock, m: map[K]ttlEntry[V]{}}
}

// get returns the cached value of k, or loads, caches and returns it.
// Errors are not cached. Concurrent misses may load twice.
func (c *ttlCache[K, V]) get(k K, load func() (V, error)) (V, error) {
	if c.ttl <= 0 {
		return load()
	}
	now := c.clock()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= composeCacheMax {
		clear(c.m)
	}
	c.m[k] = ttlEntry[V]{v: v, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return v, nil
}
