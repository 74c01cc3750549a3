package imapd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
)

// selected is the state of the selected mailbox as this session's client
// knows it. The database is the queue of updates: each sync reads what
// changed since modseq and tells the client, so nothing piles up in
// memory except expunges the client may not be told yet.
type selected struct {
	mb       mbox
	readOnly bool
	view     uidView
	modseq   int64  // changes up to here are known to the client
	uidNext  uint32 // UIDs below are in the view or were never shown
	pending  []uint32
	echo     map[uint32]string // flags this session just sent after its own STORE
	saved    []uint32          // SEARCHRES ($), as UIDs
	keywords []string          // a private mailbox's keywords the client was told of
	synced   time.Time         // last read of the changes
	ahead    *readAhead        // messages prepared for FETCH (readahead.go)
	wake     <-chan struct{}
	unsub    func()
}

func (sel *selected) close() { sel.unsub() }

// Select opens a mailbox (EXAMINE: read-only).
func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	mb, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	wake, unsub := s.srv.cfg.Hub.Subscribe(notify.Mail, s.company.ID)
	sel := &selected{mb: mb, readOnly: options != nil && options.ReadOnly, wake: wake, unsub: unsub}
	st := s.srv.cfg.Store
	state, err := st.IMAPSync(s.ctx, s.company.ID, mb.ID)
	if err != nil {
		unsub()
		return nil, s.internal("select", err)
	}
	view, err := s.srv.views.load(s.ctx, st, s.company.ID, mb.ID, state)
	if err != nil {
		unsub()
		return nil, s.internal("select", err)
	}
	sel.view = view
	sel.synced = time.Now()
	sel.modseq = state.Modseq
	sel.uidNext = max(state.UIDNext, sel.view.last()+1)
	if !mb.Virtual() {
		if sel.keywords, err = st.IMAPKeywords(s.ctx, s.company.ID, mb.ID, 0); err != nil {
			unsub()
			return nil, s.internal("select", err)
		}
	}
	s.sel = sel
	flags := sel.flags()
	perm := []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged}
	if !mb.Virtual() {
		perm = append(slices.Clone(flags), imap.FlagWildcard)
	}
	if sel.readOnly {
		perm = nil
	}
	return &imap.SelectData{
		Flags: flags, PermanentFlags: perm, NumMessages: sel.view.len(),
		UIDNext: imap.UID(sel.uidNext), UIDValidity: state.UIDValidity,
	}, nil
}

// flags is the mailbox's FLAGS: the system flags it keeps and, in a
// private mailbox, the keywords in use; in Sent, the delivery keywords
// the outbound worker sets.
func (sel *selected) flags() []imap.Flag {
	flags := []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged}
	if !sel.mb.Virtual() {
		flags = append(flags, imap.FlagDeleted, imap.FlagDraft)
	}
	if sel.mb.Filter == storage.FilterSent {
		for _, k := range storage.DeliveryKeywords {
			flags = append(flags, imap.Flag(k))
		}
	}
	for _, k := range sel.keywords {
		flags = append(flags, imap.Flag(k))
	}
	return flags
}

// learnKeywords adds the keywords of flags the client was not told of
// yet and reports whether there were any: a new keyword in a private
// mailbox means a new FLAGS response (RFC 9051 section 7.3.5).
func (sel *selected) learnKeywords(flags []string) bool {
	if sel.mb.Virtual() {
		return false
	}
	grew := false
	for _, f := range flags {
		if !strings.HasPrefix(f, `\`) && !slices.ContainsFunc(sel.keywords, func(k string) bool { return strings.EqualFold(k, f) }) {
			sel.keywords = append(sel.keywords, f)
			grew = true
		}
	}
	if grew {
		slices.Sort(sel.keywords)
	}
	return grew
}

// Unselect closes the mailbox (CLOSE has expunged first when allowed).
func (s *session) Unselect() error {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	return nil
}

// Poll tells the client what changed, after every command.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	return s.sync(w, allowExpunge, false)
}

// Idle tells the client about changes as other sessions and processes
// publish them, until stop.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	sel := s.sel
	if sel == nil {
		select {
		case <-stop:
		case <-s.ctx.Done():
		}
		return nil
	}
	sel.ahead = nil // a session waiting in IDLE holds no read-ahead bytes
	if err := s.sync(w, true, true); err != nil {
		return err
	}
	t := time.NewTicker(s.srv.cfg.IdleRecheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-s.ctx.Done():
			return nil
		case <-sel.wake:
		case <-t.C:
		}
		if err := s.sync(w, true, true); err != nil {
			return err
		}
	}
}

// sync brings the client's view up to date: flag changes as FETCH,
// expunges (when allowed) as EXPUNGE, new messages as EXISTS.
func (s *session) sync(w *imapserver.UpdateWriter, allowExpunge, force bool) error {
	sel := s.sel
	if sel == nil {
		return nil
	}
	select {
	case <-sel.wake:
	default:
		// Nothing was published since the last look: every writer
		// publishes, so only read again once a second, in case a wake-up
		// from another process was lost.
		if !force && time.Since(sel.synced) < time.Second && !(allowExpunge && len(sel.pending) > 0) {
			return nil
		}
	}
	sel.synced = time.Now()
	st := s.srv.cfg.Store
	state, err := st.IMAPSync(s.ctx, s.company.ID, sel.mb.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // the mailbox was deleted under us: nothing changes any more
	}
	if err != nil {
		return s.syncFailed(err)
	}
	if state.Modseq != sel.modseq {
		changes, err := st.IMAPChanges(s.ctx, s.company.ID, sel.mb.ID, sel.modseq, state.Modseq, sel.uidNext)
		if err != nil {
			return s.syncFailed(err)
		}
		newKeywords := false
		for _, c := range changes {
			seq := sel.view.seq(c.UID)
			if seq == 0 {
				continue
			}
			if c.Expunged {
				sel.pending = append(sel.pending, c.UID)
				continue
			}
			if sel.learnKeywords(c.Flags) {
				newKeywords = true
			}
			if k, ok := sel.echo[c.UID]; ok && k == strings.Join(c.Flags, " ") {
				continue
			}
			if err := w.WriteMessageFlags(seq, imap.UID(c.UID), imapFlags(c.Flags)); err != nil {
				return err
			}
		}
		grown, oldNext := false, sel.uidNext
		if state.UIDNext > sel.uidNext {
			runs, err := st.IMAPUIDRuns(s.ctx, s.company.ID, sel.mb.ID, sel.uidNext)
			if err != nil {
				return s.syncFailed(err)
			}
			n := sel.view.len()
			for _, r := range runs {
				if lo := max(r[0], sel.view.last()+1); lo <= r[1] {
					sel.view.addRun(lo, r[1])
				}
			}
			sel.uidNext = state.UIDNext
			grown = sel.view.len() != n
		}
		if grown && !sel.mb.Virtual() {
			// New messages (APPEND, COPY, MOVE) may bring keywords:
			// read theirs only, not the whole folder's again.
			kw, err := st.IMAPKeywords(s.ctx, s.company.ID, sel.mb.ID, oldNext)
			if err != nil {
				return s.syncFailed(err)
			}
			newKeywords = sel.learnKeywords(kw) || newKeywords
		}
		if newKeywords {
			if err := w.WriteMailboxFlags(sel.flags()); err != nil {
				return err
			}
		}
		if grown {
			if err := w.WriteNumMessages(sel.view.len()); err != nil {
				return err
			}
		}
		sel.modseq = state.Modseq
	}
	sel.echo = nil
	if allowExpunge && len(sel.pending) > 0 {
		pending := sel.pending
		sel.pending = nil
		if err := s.expungeView(w.WriteExpunge, pending); err != nil {
			return err
		}
	}
	if len(sel.pending) > s.srv.cfg.MaxPending {
		s.log.Warn("imap session owes too many updates; closing it", "pending", len(sel.pending))
		s.conn.Bye("Too many changes to report; please reconnect")
		return fmt.Errorf("imap session closed: %d pending updates", len(sel.pending))
	}
	return nil
}

func (s *session) syncFailed(err error) error {
	if s.ctx.Err() == nil {
		s.log.Warn("imap: read mailbox changes", "err", err)
	}
	return nil
}

// expungeView removes UIDs from the view, telling the client each
// sequence number, highest first so the numbers stay valid.
func (s *session) expungeView(write func(uint32) error, uids []uint32) error {
	sel := s.sel
	var ps []pair
	drop := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		if seq := sel.view.seq(u); seq != 0 && !drop[u] {
			drop[u] = true
			ps = append(ps, pair{seq, u})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	slices.SortFunc(ps, func(a, b pair) int { return int(int64(b.seq) - int64(a.seq)) })
	sel.view = sel.view.without(drop)
	for _, p := range ps {
		if err := write(p.seq); err != nil {
			return err
		}
	}
	return nil
}

// Expunge removes \Deleted messages of a private folder, and in a shared
// folder drops the messages that stopped matching it from the view.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	sel := s.sel
	if sel == nil || sel.readOnly {
		return nil
	}
	st := s.srv.cfg.Store
	var gone []uint32
	if sel.mb.Virtual() {
		state, err := st.IMAPSync(s.ctx, s.company.ID, sel.mb.ID)
		if err != nil {
			return s.internal("expunge", err)
		}
		live, err := s.srv.views.load(s.ctx, st, s.company.ID, sel.mb.ID, state)
		if err != nil {
			return s.internal("expunge", err)
		}
		for _, r := range sel.view.runs {
			for u := r.lo; ; u++ {
				if live.seq(u) == 0 && (uids == nil || uids.Contains(imap.UID(u))) {
					gone = append(gone, u)
				}
				if u == r.hi {
					break
				}
			}
		}
	} else {
		var only []uint32
		if uids != nil {
			for _, p := range sel.view.resolve(*uids) {
				only = append(only, p.uid)
			}
			if len(only) == 0 {
				return s.expungePending(w)
			}
		}
		removed, err := st.IMAPExpunge(s.ctx, s.company.ID, sel.mb.ID, only)
		if err != nil {
			return s.internal("expunge", err)
		}
		if len(removed) > 0 {
			s.publish()
		}
		gone = removed
	}
	gone = append(gone, sel.pending...)
	sel.pending = nil
	return s.expungeView(w.WriteExpunge, gone)
}

func (s *session) expungePending(w *imapserver.ExpungeWriter) error {
	p := s.sel.pending
	s.sel.pending = nil
	return s.expungeView(w.WriteExpunge, p)
}

func imapFlags(f []string) []imap.Flag {
	out := make([]imap.Flag, len(f))
	for i, v := range f {
		out[i] = imap.Flag(v)
	}
	return out
}
