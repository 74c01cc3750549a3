package imapd

import (
	"math/bits"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// seqBits is a set of sequence numbers of the view: bit seq-1.
type seqBits []uint64

func newSeqBits(n uint32, full bool) seqBits {
	b := make(seqBits, (n+63)/64)
	if full {
		for i := range b {
			b[i] = ^uint64(0)
		}
		if r := n % 64; r != 0 {
			b[len(b)-1] = 1<<r - 1
		}
	}
	return b
}

func (b seqBits) set(seq uint32) { b[(seq-1)/64] |= 1 << ((seq - 1) % 64) }

func (b seqBits) and(o seqBits) {
	for i := range b {
		b[i] &= o[i]
	}
}

func (b seqBits) andNot(o seqBits) {
	for i := range b {
		b[i] &^= o[i]
	}
}

func (b seqBits) or(o seqBits) {
	for i := range b {
		b[i] |= o[i]
	}
}

// matchBits evaluates criteria that name only sequence numbers, UIDs and
// shared flags (no message needs reading) over the whole view at once: a
// SEARCH UNSEEN of a 100,000-message folder is a few bitset operations,
// not 100,000 calls of match. flags holds a bitset per flag (lower case)
// with the same layout.
func (sel *selected) matchBits(c *imap.SearchCriteria, flags flagBits) seqBits {
	n := sel.view.len()
	out := newSeqBits(n, true)
	for _, set := range c.SeqNum {
		out.and(sel.setBits(set))
	}
	for _, set := range c.UID {
		out.and(sel.setBits(set))
	}
	for _, f := range c.Flag {
		out.and(flagSet(flags, f, n))
	}
	for _, f := range c.NotFlag {
		out.andNot(flagSet(flags, f, n))
	}
	for i := range c.Not {
		out.andNot(sel.matchBits(&c.Not[i], flags))
	}
	for _, or := range c.Or {
		a := sel.matchBits(&or[0], flags)
		a.or(sel.matchBits(&or[1], flags))
		out.and(a)
	}
	return out
}

// setBits is the messages of the view a (static) set names.
func (sel *selected) setBits(set imap.NumSet) seqBits {
	b := newSeqBits(sel.view.len(), false)
	for _, p := range sel.view.resolve(set) {
		b.set(p.seq)
	}
	return b
}

// flagSet is the bitset of flag f, or an empty one.
func flagSet(flags flagBits, f imap.Flag, n uint32) seqBits {
	if b := flags[strings.ToLower(string(f))]; b != nil {
		return seqBits(b)
	}
	return newSeqBits(n, false)
}

// pairs lists the messages of b, in order.
func (sel *selected) pairsOf(b seqBits) []pair {
	var out []pair
	v := &sel.view
	ri := 0
	for wi, w := range b {
		for w != 0 {
			seq := uint32(wi*64+bits.TrailingZeros64(w)) + 1
			w &= w - 1
			for ri < len(v.runs) && (ri+1 < len(v.cum) && v.cum[ri+1] < seq) {
				ri++
			}
			out = append(out, pair{seq, v.runs[ri].lo + (seq - 1 - v.cum[ri])})
		}
	}
	return out
}
