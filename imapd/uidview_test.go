package imapd

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestResolve checks resolve's run walk against the sequence numbers and
// UIDs looked up one by one, on views of many shapes.
func TestResolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var uids []uint32
		u := uint32(rng.IntN(5) + 1)
		for n := rng.IntN(300); n > 0; n-- {
			uids = append(uids, u)
			if rng.IntN(4) == 0 {
				u += uint32(rng.IntN(10) + 2)
			} else {
				u++
			}
		}
		v := viewOf(uids)
		var set imap.SeqSet
		for k := rng.IntN(3) + 1; k > 0; k-- {
			set.AddRange(uint32(rng.IntN(len(uids)+2)), uint32(rng.IntN(len(uids)+2)))
		}
		// The set, read number by number: "*" is the last message, a
		// range may be given either way round.
		star := func(x uint32) uint32 {
			if x == 0 {
				return v.len()
			}
			return x
		}
		var want []pair
		for s := uint32(1); s <= v.len(); s++ {
			if slices.ContainsFunc(set, func(r imap.SeqRange) bool {
				lo, hi := star(r.Start), star(r.Stop)
				return min(lo, hi) <= s && s <= max(lo, hi)
			}) {
				want = append(want, pair{s, v.uid(s)})
			}
		}
		got := v.resolve(set)
		if !slices.Equal(got, want) {
			t.Fatalf("view %v, set %v:\ngot  %v\nwant %v", uids, set, got, want)
		}

		// The same for a UID set, "*" being the last UID.
		last := v.last()
		var uset imap.UIDSet
		for k := rng.IntN(3) + 1; k > 0; k-- {
			uset.AddRange(imap.UID(rng.IntN(int(last)+3)), imap.UID(rng.IntN(int(last)+3)))
		}
		ustar := func(x imap.UID) uint32 {
			if x == 0 {
				return last
			}
			return uint32(x)
		}
		want = nil
		for s := uint32(1); s <= v.len(); s++ {
			u := v.uid(s)
			if slices.ContainsFunc(uset, func(r imap.UIDRange) bool {
				lo, hi := ustar(r.Start), ustar(r.Stop)
				return min(lo, hi) <= u && u <= max(lo, hi)
			}) {
				want = append(want, pair{s, u})
			}
		}
		if got := v.resolve(uset); !slices.Equal(got, want) {
			t.Fatalf("view %v, set %v:\ngot  %v\nwant %v", uids, uset, got, want)
		}
	}
}
