package imapd

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// flagCache keeps the shared flags of every UID of each shared mailbox, a
// byte a UID, so that FETCH 1:* (FLAGS) and SEARCH UNSEEN read only what
// changed since they last looked (IMAPChanges after the entry's modseq)
// instead of every message. The database stays the truth: each use first
// reads the company's modseq, so a change made by another session or
// another process sharing the database is seen once it is committed
// (flag changes and delivery keyword changes both give the message a new
// modseq).
type flagCache struct {
	mu    sync.Mutex
	m     map[int64]*flagEntry
	swept time.Time
	now   func() time.Time // time.Now; tests move it
}

// flagIdle is how long an entry nobody used is kept: a mailbox no
// session lists (a company whose staff went home, the filter of a group
// that was removed) gives its memory back, a byte a UID.
const flagIdle = 10 * time.Minute

// flagEntry holds the flags of a mailbox's UIDs below uidNext, as of
// modseq: codes[uid] (see encodeFlags).
type flagEntry struct {
	mu      sync.Mutex // held while the entry is read or brought up to date
	used    time.Time  // the last entry call for it; flagCache.mu guards it
	modseq  int64
	uidNext uint32
	codes   []byte
}

// A flag code: the shared flags, the delivery keyword (its index in
// storage.DeliveryKeywords plus one, bits 3-5), whether the UID exists,
// and whether it has flags the code cannot hold (read from the database).
const (
	codeSeen     = 1 << 0
	codeAnswered = 1 << 1
	codeFlagged  = 1 << 2
	codeKWShift  = 3
	codeKWMask   = 7 << codeKWShift
	codeOther    = 1 << 6
	codeKnown    = 1 << 7
)

func encodeFlags(flags []string) byte {
	c := byte(codeKnown)
	for _, f := range flags {
		switch f {
		case `\Seen`:
			c |= codeSeen
		case `\Answered`:
			c |= codeAnswered
		case `\Flagged`:
			c |= codeFlagged
		default:
			if i := slices.Index(storage.DeliveryKeywords, f); i >= 0 && c&codeKWMask == 0 {
				c |= byte(i+1) << codeKWShift
			} else {
				c |= codeOther
			}
		}
	}
	return c
}

// appendFlags appends the flags of a code to f in the order storage
// lists them: \Seen, \Answered, \Flagged, then the delivery keyword.
func appendFlags(f []string, c byte) []string {
	if c&codeSeen != 0 {
		f = append(f, `\Seen`)
	}
	if c&codeAnswered != 0 {
		f = append(f, `\Answered`)
	}
	if c&codeFlagged != 0 {
		f = append(f, `\Flagged`)
	}
	if k := c & codeKWMask >> codeKWShift; k != 0 {
		f = append(f, storage.DeliveryKeywords[k-1])
	}
	return f
}

func (c *flagCache) entry(mailboxID int64) *flagEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	if c.m == nil {
		c.m = make(map[int64]*flagEntry)
	}
	if now.Sub(c.swept) >= flagIdle/10 {
		// A session still working with a dropped entry finishes with it;
		// the next use starts a new one.
		for id, e := range c.m {
			if now.Sub(e.used) >= flagIdle {
				delete(c.m, id)
			}
		}
		c.swept = now
	}
	e := c.m[mailboxID]
	if e == nil {
		e = &flagEntry{}
		c.m[mailboxID] = e
	}
	e.used = now
	return e
}

// with brings the entry of a shared mailbox up to date for the UIDs below
// uidNext and calls fn with its codes, the entry locked.
func (c *flagCache) with(ctx context.Context, st Store, companyID, mailboxID int64, uidNext uint32, fn func(codes []byte)) error {
	e := c.entry(mailboxID)
	e.mu.Lock()
	defer e.mu.Unlock()
	// Read first: whatever committed up to cur is in what follows.
	cur, err := st.IMAPModseq(ctx, companyID)
	if err != nil {
		return err
	}
	if e.codes == nil {
		e.modseq, e.uidNext = cur, 1
		e.codes = make([]byte, 1)
		err = e.read(ctx, st, companyID, mailboxID, uidNext)
	} else {
		err = e.update(ctx, st, companyID, mailboxID, uidNext, cur)
	}
	if err != nil {
		e.codes = nil // start over next time
		return err
	}
	fn(e.codes)
	return nil
}

func (e *flagEntry) set(uid uint32, flags []string) {
	if int(uid) >= len(e.codes) {
		e.codes = append(e.codes, make([]byte, int(uid)+1-len(e.codes))...)
	}
	e.codes[uid] = encodeFlags(flags)
}

// update applies the flag changes after e.modseq up to cur, then reads
// the UIDs from e.uidNext up to uidNext.
func (e *flagEntry) update(ctx context.Context, st Store, companyID, mailboxID int64, uidNext uint32, cur int64) error {
	if cur > e.modseq {
		changes, err := st.IMAPChanges(ctx, companyID, mailboxID, e.modseq, cur, e.uidNext)
		if err != nil {
			return err
		}
		for _, ch := range changes {
			e.set(ch.UID, ch.Flags)
		}
		e.modseq = cur
	}
	return e.read(ctx, st, companyID, mailboxID, uidNext)
}

// read reads the flags of every UID from e.uidNext up to uidNext (all of
// them, so the entry is right for any session, whatever its view shows).
func (e *flagEntry) read(ctx context.Context, st Store, companyID, mailboxID int64, uidNext uint32) error {
	if uidNext <= e.uidNext {
		return nil
	}
	uids := make([]uint32, 0, uidNext-e.uidNext)
	for u := e.uidNext; u < uidNext; u++ {
		uids = append(uids, u)
	}
	flags, err := st.IMAPFlags(ctx, companyID, mailboxID, uids)
	if err != nil {
		return err
	}
	for _, f := range flags {
		e.set(f.UID, f.Flags)
	}
	if int(uidNext) > len(e.codes) {
		e.codes = append(e.codes, make([]byte, int(uidNext)-len(e.codes))...)
	}
	e.uidNext = uidNext
	return nil
}

// codeBit is the code bit of a shared flag (compared case-insensitively),
// or 0 for a flag shared folders do not keep.
func codeBit(flag string) byte {
	switch strings.ToLower(flag) {
	case `\seen`:
		return codeSeen
	case `\answered`:
		return codeAnswered
	case `\flagged`:
		return codeFlagged
	}
	return 0
}

// uidsWith returns the UIDs below uidNext of a shared mailbox (gone ones
// included), in order, whose flag bit is set (set true) or not: what
// IMAPFlagUIDs returns for \Seen, \Answered and \Flagged.
func (c *flagCache) uidsWith(ctx context.Context, st Store, companyID, mailboxID int64, uidNext uint32, bit byte, set bool) ([]uint32, error) {
	var out []uint32
	err := c.with(ctx, st, companyID, mailboxID, uidNext, func(codes []byte) {
		for u, code := range codes[:uidNext] {
			if code&codeKnown != 0 && (code&bit != 0) == set {
				out = append(out, uint32(u))
			}
		}
	})
	return out, err
}

// span returns a copy of the codes of the UIDs lo..hi of a shared
// mailbox (those below uidNext; codes[0] is lo's). One FETCH 1:* (FLAGS)
// reads the company's modseq once and holds the entry's lock for a copy,
// not while it writes to a client.
func (c *flagCache) span(ctx context.Context, st Store, companyID, mailboxID int64, uidNext, lo, hi uint32) ([]byte, error) {
	var out []byte
	err := c.with(ctx, st, companyID, mailboxID, uidNext, func(codes []byte) {
		hi = min(hi, uint32(len(codes)-1), uidNext-1)
		if lo <= hi && uidNext > 0 {
			out = slices.Clone(codes[lo : hi+1])
		}
	})
	return out, err
}
