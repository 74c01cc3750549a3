package imapd

import (
	"slices"
	"sort"

	"github.com/emersion/go-imap/v2"
)

// uidView is the list of UIDs a session shows, in order: message sequence
// number n is the n-th UID. It is kept as runs of consecutive UIDs, so a
// 100,000-message INBOX costs a few bytes per session, not 400 KB.
type uidView struct {
	runs []uidRun
	cum  []uint32 // cum[i]: UIDs before runs[i]
	n    uint32
}

type uidRun struct{ lo, hi uint32 }

// pair is a message of the view: its sequence number and UID.
type pair struct{ seq, uid uint32 }

func viewOf(sorted []uint32) uidView {
	var v uidView
	for _, u := range sorted {
		v.add(u)
	}
	return v
}

func (v *uidView) len() uint32 { return v.n }

func (v *uidView) last() uint32 {
	if len(v.runs) == 0 {
		return 0
	}
	return v.runs[len(v.runs)-1].hi
}

// viewOfRuns builds a view from runs of consecutive UIDs, in order.
func viewOfRuns(runs [][2]uint32) uidView {
	var v uidView
	for _, r := range runs {
		v.addRun(r[0], r[1])
	}
	return v
}

// addRun appends the UIDs lo..hi, which must be above last.
func (v *uidView) addRun(lo, hi uint32) {
	if len(v.runs) > 0 {
		lo = max(lo, v.last()+1)
	}
	if lo > hi || lo == 0 {
		return
	}
	if k := len(v.runs); k > 0 && v.runs[k-1].hi+1 == lo {
		v.runs[k-1].hi = hi
	} else {
		v.runs = append(v.runs, uidRun{lo, hi})
		v.cum = append(v.cum, v.n)
	}
	v.n += hi - lo + 1
}

// add appends uid, which must be above last.
func (v *uidView) add(uid uint32) {
	if k := len(v.runs); k > 0 && v.runs[k-1].hi+1 == uid {
		v.runs[k-1].hi = uid
	} else {
		v.runs = append(v.runs, uidRun{uid, uid})
		v.cum = append(v.cum, v.n)
	}
	v.n++
}

// uid returns the UID of sequence number seq, or 0.
func (v *uidView) uid(seq uint32) uint32 {
	if seq == 0 || seq > v.n {
		return 0
	}
	i := sort.Search(len(v.cum), func(i int) bool { return v.cum[i] >= seq }) - 1
	return v.runs[i].lo + (seq - 1 - v.cum[i])
}

// seq returns the sequence number of uid, or 0 when it is not shown.
func (v *uidView) seq(uid uint32) uint32 {
	i := sort.Search(len(v.runs), func(i int) bool { return v.runs[i].hi >= uid })
	if i == len(v.runs) || v.runs[i].lo > uid {
		return 0
	}
	return v.cum[i] + (uid - v.runs[i].lo) + 1
}

// uids lists every UID of the view.
func (v *uidView) uids() []uint32 {
	out := make([]uint32, 0, v.n)
	for _, r := range v.runs {
		for u := r.lo; ; u++ {
			out = append(out, u)
			if u == r.hi {
				break
			}
		}
	}
	return out
}

// without returns the view minus the given UIDs.
func (v *uidView) without(drop map[uint32]bool) uidView {
	var nv uidView
	for _, r := range v.runs {
		for u := r.lo; ; u++ {
			if !drop[u] {
				nv.add(u)
			}
			if u == r.hi {
				break
			}
		}
	}
	return nv
}

// resolve turns a sequence or UID set into the messages of the view it
// names, in order. "*" is the last message (or the highest UID).
func (v *uidView) resolve(set imap.NumSet) []pair {
	var out []pair
	switch set := set.(type) {
	case imap.SeqSet:
		for _, r := range set {
			lo, hi := r.Start, r.Stop
			if lo == 0 {
				lo = v.n
			}
			if hi == 0 {
				hi = v.n
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			hi = min(hi, v.n)
			out = v.appendSeqs(out, max(lo, 1), hi)
		}
	case imap.UIDSet:
		last := v.last()
		for _, r := range set {
			lo, hi := uint32(r.Start), uint32(r.Stop)
			if lo == 0 {
				lo = last
			}
			if hi == 0 {
				hi = last
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			// The UIDs shown within lo..hi are the sequence numbers
			// from the first of them to the last.
			i := sort.Search(len(v.runs), func(i int) bool { return v.runs[i].hi >= lo })
			j := sort.Search(len(v.runs), func(j int) bool { return v.runs[j].lo > hi }) - 1
			if i < len(v.runs) && j >= i {
				first := v.cum[i] + (max(v.runs[i].lo, lo) - v.runs[i].lo) + 1
				last := v.cum[j] + (min(v.runs[j].hi, hi) - v.runs[j].lo) + 1
				out = v.appendSeqs(out, first, last)
			}
		}
	}
	if len(out) > 1 && !sortedPairs(out) {
		slices.SortFunc(out, func(a, b pair) int { return int(int64(a.seq) - int64(b.seq)) })
		out = slices.CompactFunc(out, func(a, b pair) bool { return a.seq == b.seq })
	}
	return out
}

// appendSeqs appends the pairs of sequence numbers lo..hi (within the
// view) walking the runs, not searching them per number: FETCH 1:* of a
// 100,000-message folder waited 0.4-5 ms for its pairs before the first
// byte went out.
func (v *uidView) appendSeqs(out []pair, lo, hi uint32) []pair {
	if lo > hi || lo == 0 {
		return out
	}
	out = slices.Grow(out, int(hi-lo+1))
	i := sort.Search(len(v.cum), func(i int) bool { return v.cum[i] >= lo }) - 1
	for s := lo; s <= hi && i < len(v.runs); i++ {
		run := v.runs[i]
		for u := run.lo + (s - 1 - v.cum[i]); s <= hi; u++ {
			out = append(out, pair{s, u})
			s++
			if u == run.hi {
				break
			}
		}
	}
	return out
}

func sortedPairs(p []pair) bool {
	for i := 1; i < len(p); i++ {
		if p[i].seq <= p[i-1].seq {
			return false
		}
	}
	return true
}
