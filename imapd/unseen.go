package imapd

import (
	"context"
	"math/bits"
	"slices"
	"sync"
)

// unseenCache keeps, per shared mailbox, which UIDs are not \Seen, so a
// SEARCH UNSEEN reads only the flags that changed since the last one
// (IMAPChanges after its modseq) instead of every unread message. The
// database stays the truth: each use first reads the company's modseq,
// so a change made by another process is seen as soon as it is
// committed. Several processes sharing one PostgreSQL database need
// nothing more.
type unseenCache struct {
	mu sync.Mutex
	m  map[int64]*unseenEntry
}

// unseenEntry is the unseen set of one mailbox: for each UID below
// uidNext, bit uid is set when the message is not \Seen (as of modseq).
type unseenEntry struct {
	mu      sync.Mutex // held while the entry is brought up to date
	modseq  int64
	uidNext uint32
	bits    []uint64
}

func (c *unseenCache) entry(mailboxID int64) *unseenEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64]*unseenEntry)
	}
	e := c.m[mailboxID]
	if e == nil {
		e = &unseenEntry{}
		c.m[mailboxID] = e
	}
	return e
}

// uids returns the UIDs below uidNext of a shared mailbox whose message is
// not \Seen (gone ones included), in order: what IMAPFlagUIDs(\Seen,
// false) returns for them.
func (c *unseenCache) uids(ctx context.Context, st Store, companyID, mailboxID int64, uidNext uint32) ([]uint32, error) {
	e := c.entry(mailboxID)
	e.mu.Lock()
	defer e.mu.Unlock()
	// Read first: whatever committed up to cur is in what follows.
	cur, err := st.IMAPModseq(ctx, companyID)
	if err != nil {
		return nil, err
	}
	if e.bits == nil {
		if err := e.load(ctx, st, companyID, mailboxID, uidNext, cur); err != nil {
			return nil, err
		}
	} else if err := e.update(ctx, st, companyID, mailboxID, uidNext, cur); err != nil {
		e.bits = nil // start over next time
		return nil, err
	}
	var out []uint32
	for wi, w := range e.bits {
		for w != 0 {
			u := uint32(wi*64 + bits.TrailingZeros64(w))
			w &= w - 1
			if u >= uidNext {
				return out, nil
			}
			out = append(out, u)
		}
	}
	return out, nil
}

func (e *unseenEntry) set(uid uint32, unseen bool) {
	if uid == 0 {
		return
	}
	i := int(uid / 64)
	if i >= len(e.bits) {
		if !unseen {
			return
		}
		e.bits = append(e.bits, make([]uint64, i+1-len(e.bits))...)
	}
	if unseen {
		e.bits[i] |= 1 << (uid % 64)
	} else {
		e.bits[i] &^= 1 << (uid % 64)
	}
}

// load reads the whole set.
func (e *unseenEntry) load(ctx context.Context, st Store, companyID, mailboxID int64, uidNext uint32, cur int64) error {
	list, err := st.IMAPFlagUIDs(ctx, companyID, mailboxID, flagSeen, false)
	if err != nil {
		return err
	}
	e.bits = make([]uint64, uidNext/64+1)
	for _, u := range list {
		e.set(u, true)
	}
	e.modseq, e.uidNext = cur, uidNext
	return nil
}

// update applies the flag changes after e.modseq up to cur, and reads the
// flags of the UIDs from e.uidNext up to uidNext.
func (e *unseenEntry) update(ctx context.Context, st Store, companyID, mailboxID int64, uidNext uint32, cur int64) error {
	if cur > e.modseq {
		changes, err := st.IMAPChanges(ctx, companyID, mailboxID, e.modseq, cur, e.uidNext)
		if err != nil {
			return err
		}
		for _, ch := range changes {
			e.set(ch.UID, !slices.Contains(ch.Flags, flagSeen))
		}
		e.modseq = cur
	}
	if uidNext > e.uidNext {
		// Every UID of the range, so the set is right for any session,
		// whatever its view shows.
		uids := make([]uint32, 0, uidNext-e.uidNext)
		for u := e.uidNext; u < uidNext; u++ {
			uids = append(uids, u)
		}
		flags, err := st.IMAPFlags(ctx, companyID, mailboxID, uids)
		if err != nil {
			return err
		}
		for _, f := range flags {
			e.set(f.UID, !slices.Contains(f.Flags, flagSeen))
		}
		e.uidNext = uidNext
	}
	return nil
}

const flagSeen = `\Seen`
