package imapd

// gens is the memory of textCache and blobCache: two generations of
// entries, of at most max/2 bytes each. Entries go into the current one,
// and one found in the old one moves back into it; when an entry would
// overflow the current one, the current one becomes the old one and the
// old one is dropped (dropped hears of each key). An entry used since the
// last turn is never lost. The caller locks.
type gens[K comparable, V any] struct {
	max, curBytes int
	cur, old      map[K]gen[V]
	dropped       func(K) // nil, or told of each key of a dropped generation
}

type gen[V any] struct {
	v V
	n int // bytes it counts for
}

func newGens[K comparable, V any](max int, dropped func(K)) *gens[K, V] {
	return &gens[K, V]{max: max, cur: make(map[K]gen[V]), dropped: dropped}
}

// get returns the entry of k, moving it into the current generation.
func (g *gens[K, V]) get(k K) (V, bool) {
	if e, ok := g.cur[k]; ok {
		return e.v, true
	}
	e, ok := g.old[k]
	if ok {
		delete(g.old, k)
		g.add(k, e)
	}
	return e.v, ok
}

// put keeps v for k, counted as n bytes, unless the current generation
// holds k already.
func (g *gens[K, V]) put(k K, v V, n int) {
	if _, ok := g.cur[k]; ok {
		return
	}
	delete(g.old, k)
	g.add(k, gen[V]{v, n})
}

func (g *gens[K, V]) add(k K, e gen[V]) {
	if g.curBytes+e.n > g.max/2 {
		if g.dropped != nil {
			for k := range g.old {
				g.dropped(k)
			}
		}
		g.old, g.cur, g.curBytes = g.cur, make(map[K]gen[V], len(g.cur)), 0
	}
	g.cur[k] = e
	g.curBytes += e.n
}
