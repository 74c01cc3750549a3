package imapd

import (
	"context"
	"slices"
	"sync"

	"github.com/partnermail/partnermail/storage"
)

// viewCache keeps the latest UID list of each mailbox, so that a SELECT
// reads only what changed since (UIDs that went gone, new ones) instead
// of every UID: 1,000 clients opening a 100,000-message INBOX must not
// each scan it.
type viewCache struct {
	mu sync.Mutex
	m  map[int64]viewEntry
}

type viewEntry struct {
	modseq  int64
	uidNext uint32
	view    uidView
}

// clone copies a view so its owner may change it.
func (v uidView) clone() uidView {
	return uidView{runs: slices.Clone(v.runs), cum: slices.Clone(v.cum), n: v.n}
}

// load returns the live UIDs of mailbox mb in state st.
func (c *viewCache) load(ctx context.Context, st Store, companyID, mb int64, state storage.IMAPState) (uidView, error) {
	c.mu.Lock()
	e, ok := c.m[mb]
	c.mu.Unlock()
	var v uidView
	switch {
	case ok && e.modseq == state.Modseq && e.uidNext == state.UIDNext:
		return e.view.clone(), nil
	case ok && e.modseq <= state.Modseq:
		gone, err := st.IMAPGoneSince(ctx, companyID, mb, e.modseq)
		if err != nil {
			return v, err
		}
		drop := make(map[uint32]bool, len(gone))
		for _, u := range gone {
			drop[u] = true
		}
		v = e.view.without(drop)
		runs, err := st.IMAPUIDRuns(ctx, companyID, mb, e.uidNext)
		if err != nil {
			return v, err
		}
		for _, r := range runs {
			v.addRun(r[0], r[1])
		}
	default:
		runs, err := st.IMAPUIDRuns(ctx, companyID, mb, 1)
		if err != nil {
			return v, err
		}
		v = viewOfRuns(runs)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[int64]viewEntry)
	}
	if old, ok := c.m[mb]; !ok || old.modseq <= state.Modseq {
		c.m[mb] = viewEntry{modseq: state.Modseq, uidNext: max(state.UIDNext, v.last()+1), view: v.clone()}
	}
	c.mu.Unlock()
	return v, nil
}
