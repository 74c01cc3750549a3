package imapd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/partnermail/partnermail/storage"
)

const fetchChunk = 1000

// firstChunk is the size of the first chunk of a FETCH (see Fetch).
const firstChunk = 128

// set resolves a FETCH/STORE/COPY/MOVE set against the view; "$" is the
// saved SEARCH result. A sequence number above the messages the client
// was told of is a BAD command (RFC 9051 section 9, seq-number), as
// Dovecot and Cyrus answer it; UIDs that match nothing are not an error.
func (sel *selected) set(numSet imap.NumSet) ([]pair, error) {
	if seqs, ok := numSet.(imap.SeqSet); ok {
		n := sel.view.len()
		for _, r := range seqs {
			if r.Start > n || r.Stop > n { // 0 is "*"
				return nil, &imap.Error{Type: imap.StatusResponseTypeBad,
					Text: fmt.Sprintf("Invalid message sequence number: the mailbox has %d messages", n)}
			}
		}
	}
	if u, ok := numSet.(imap.UIDSet); ok && imap.IsSearchRes(u) {
		var out []pair
		for _, uid := range sel.saved {
			if seq := sel.view.seq(uid); seq != 0 {
				out = append(out, pair{seq, uid})
			}
		}
		return out, nil
	}
	return sel.view.resolve(numSet), nil
}

func uidsOf(ps []pair) []uint32 {
	out := make([]uint32, len(ps))
	for i, p := range ps {
		out[i] = p.uid
	}
	return out
}

// Fetch writes the requested items of each message. A BODY[] (not PEEK)
// of a SELECTed folder marks the messages read for the whole company.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, opts *imap.FetchOptions) error {
	sel := s.sel
	pairs, err := sel.set(numSet)
	if err != nil {
		return err
	}
	markSeen := false
	if !sel.readOnly {
		for _, bs := range opts.BodySection {
			markSeen = markSeen || !bs.Peek
		}
		for _, bs := range opts.BinarySection {
			markSeen = markSeen || !bs.Peek
		}
	}
	needLight := opts.RFC822Size || opts.Envelope || len(opts.BodySection) > 0 || len(opts.BinarySection) > 0 ||
		len(opts.BinarySectionSize) > 0
	needRoot := opts.BodyStructure != nil || len(opts.BinarySection) > 0 || len(opts.BinarySectionSize) > 0
	for _, bs := range opts.BodySection {
		needRoot = needRoot || len(bs.Part) > 0
	}
	st := s.srv.cfg.Store
	if aheadFits(pairs, opts, markSeen, needLight, needRoot) {
		return s.fetchAhead(w, pairs[0], opts)
	}
	if !markSeen && !needLight && !needRoot && !opts.InternalDate {
		return s.fetchFlags(pairs, opts)
	}
	// ENVELOPE alone (a client listing a folder) reads lean rows.
	envOnly := opts.Envelope && !markSeen && !needRoot && !opts.Flags && !opts.InternalDate && !opts.RFC822Size &&
		len(opts.BodySection) == 0 && len(opts.BinarySection) == 0 && len(opts.BinarySectionSize) == 0
	// ...and its responses are written by fetchWire (fetchwire.go).
	var ew *fetchWire
	if envOnly && opts.BodyStructure == nil && !opts.ModSeq && opts.ChangedSince == 0 {
		ew = s.newFetchWire()
		defer ew.flush()
	}
	size := fetchChunk
	if envOnly {
		// Lean rows, a few hundred bytes each: fewer, larger queries
		// (a round trip and a plan each with PostgreSQL).
		size = s.srv.envChunk
	}
	// With a database in its own process (PostgreSQL), the lean rows of
	// the next chunk are read while this one is written, so the two
	// overlap instead of taking turns. SQLite's queries are CPU in this
	// process: overlapping them with the writing would only take CPU
	// from the client (on the bench's two CPUs, imaplib's FETCH 1:*
	// (ENVELOPE) went from 0.49 s to 0.54 s).
	overlap := envOnly && s.srv.oop
	// The first chunks are small and each is twice the last, so that
	// the first responses go out at once: a client parses a listing line
	// by line, and every millisecond before the first line is added to
	// its time (FETCH 1:* (ENVELOPE) of 100,000 messages started writing
	// 10-35 ms after the command with chunks of 4,000 from the start).
	n := min(size, firstChunk)
	var ahead <-chan leanRows
	for len(pairs) > 0 {
		chunk := pairs[:min(len(pairs), n)]
		pairs = pairs[len(chunk):]
		n = min(2*n, size)
		uids := uidsOf(chunk)
		if envOnly {
			var r leanRows
			if overlap {
				if ahead == nil {
					ahead = s.envelopesAhead(uids)
				}
				cur := ahead
				ahead = nil
				if len(pairs) > 0 {
					ahead = s.envelopesAhead(uidsOf(pairs[:min(len(pairs), n)]))
				}
				r = <-cur
			} else {
				r = s.envelopes(s.ctx, s.sel.mb.IMAPMailbox, uids)
			}
			if r.err != nil {
				return s.internal("fetch", r.err)
			}
			if ew != nil && sel.mb.Virtual() {
				err = s.writeEnvelopes(ew, chunk, r, opts.UID)
			} else {
				err = s.writeChunk(ew, w, chunk, r.msgs, opts, true, false, nil)
			}
			if err != nil {
				return err
			}
			continue
		}
		var seenNow map[uint32]bool // messages this FETCH marked read
		if markSeen {
			changed, err := st.IMAPStoreFlags(s.ctx, s.company.ID, sel.mb.ID, uids, storage.IMAPFlagsAdd, []string{string(imap.FlagSeen)})
			if err != nil {
				return s.internal("fetch: mark read", err)
			}
			if len(changed) > 0 {
				s.remember(changed)
				s.publish()
			}
			seenNow = make(map[uint32]bool, len(changed))
			for _, c := range changed {
				seenNow[c.UID] = true
			}
		}
		var msgs []storage.IMAPMessage
		switch {
		case needLight || needRoot:
			msgs, err = st.IMAPMessagesCached(s.ctx, s.company.ID, sel.mb.ID, uids, needRoot)
		default:
			msgs, err = st.IMAPMessages(s.ctx, s.company.ID, sel.mb.ID, uids)
		}
		if err != nil {
			return s.internal("fetch", err)
		}
		if err := s.writeChunk(ew, w, chunk, msgs, opts, needLight, needRoot, seenNow); err != nil {
			return err
		}
	}
	return nil
}

// leanRows is what envelopes reads: the lean rows of some messages and,
// when the text cache is on, their thread addresses.
type leanRows struct {
	msgs    []storage.IMAPMessage
	replies []string // nil, or one per message of msgs
	err     error
}

// envelopesAhead reads the lean rows of uids (envelopes) in the
// background.
func (s *session) envelopesAhead(uids []uint32) <-chan leanRows {
	ch := make(chan leanRows, 1) // the reader may be gone: never blocks
	ctx, mb := s.ctx, s.sel.mb.IMAPMailbox
	go func() { ch <- s.envelopes(ctx, mb, uids) }()
	return ch
}

// envelopes is IMAPEnvelopes, with the cached texts of a shared folder
// from memory where it holds them (textCache).
func (s *session) envelopes(ctx context.Context, mb storage.IMAPMailbox, uids []uint32) leanRows {
	texts := s.srv.texts
	if texts == nil || !mb.Virtual() {
		msgs, err := s.srv.cfg.Store.IMAPEnvelopes(ctx, s.company.ID, mb.ID, uids, nil)
		return leanRows{msgs: msgs, err: err}
	}
	msgs, err := s.srv.cfg.Store.IMAPEnvelopes(ctx, s.company.ID, mb.ID, uids, texts.has)
	if err != nil {
		return leanRows{err: err}
	}
	return leanRows{msgs: msgs, replies: texts.fill(msgs, s.threadAddress)}
}

// writeChunk writes the responses of the messages of chunk, in order,
// from their rows; seenNow lists those the FETCH just marked read.
func (s *session) writeChunk(ew *fetchWire, w *imapserver.FetchWriter, chunk []pair, msgs []storage.IMAPMessage,
	opts *imap.FetchOptions, needLight, needRoot bool, seenNow map[uint32]bool) error {
	infos, err := s.infos(msgs, s.sel.mb.Virtual(), needLight, needRoot)
	if err != nil {
		return s.internal("fetch", err)
	}
	byUID := make(map[uint32]*msgInfo, len(infos))
	for _, mi := range infos {
		byUID[mi.m.UID] = mi
	}
	if ew != nil {
		for _, p := range chunk {
			if mi := byUID[p.uid]; mi != nil {
				if err := ew.message(p.seq, mi.m.UID, opts.UID, mi.envelope(&s.env)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// Bodies are read readBatch at a time, in one query each (inBatches),
	// and let go once written: one by one, a blob in PostgreSQL is two
	// round trips, and UID FETCH 1:* (BODY.PEEK[]) of 10,000 messages
	// took 1.9 s where Dovecot takes 0.17 s.
	var werr error // fetchOne's, apart from the reads' errors
	write := func(p pair, data []byte) error {
		mi := byUID[p.uid]
		if mi == nil {
			return nil
		}
		mi.data = data
		werr = s.fetchOne(w, p.seq, mi, opts, seenNow[p.uid])
		mi.data = nil
		return werr
	}
	if len(opts.BodySection) == 0 && len(opts.BinarySection) == 0 && len(opts.BinarySectionSize) == 0 {
		for _, p := range chunk {
			if err := write(p, nil); err != nil {
				return err
			}
		}
		return nil
	}
	err = inBatches(s.ctx, s.srv, chunk, func(p pair) string {
		if mi := byUID[p.uid]; mi != nil {
			return mi.m.RawKey
		}
		return ""
	}, write)
	if err != nil && werr == nil {
		return s.internal("fetch: read messages", err)
	}
	return err
}

// writeEnvelopes writes the FETCH (ENVELOPE) responses of the messages
// of chunk in a shared folder, from their lean rows: straight from the
// cached text where there is one (cachedEnvelope), else from what infos
// finds or computes (for the first message without one, for all of the
// chunk's that follow it).
func (s *session) writeEnvelopes(ew *fetchWire, chunk []pair, r leanRows, withUID bool) error {
	msgs := r.msgs
	if !slices.IsSortedFunc(msgs, func(a, b storage.IMAPMessage) int { return cmp.Compare(a.UID, b.UID) }) {
		return s.internal("fetch", errors.New("IMAPEnvelopes answered out of UID order"))
	}
	var computed map[uint32]*msgInfo
	j := 0
	for _, p := range chunk {
		for j < len(msgs) && msgs[j].UID < p.uid {
			j++
		}
		if j == len(msgs) || msgs[j].UID != p.uid {
			continue // expunged meanwhile
		}
		m := &msgs[j]
		var reply string
		if r.replies != nil {
			reply = r.replies[j]
		} else {
			reply = s.threadAddress(m.ThreadID)
		}
		b := ew.start(p.seq, p.uid, withUID)
		if withUID {
			b = append(b, ' ')
		}
		b = append(b, "ENVELOPE "...)
		if computed == nil {
			var ok bool
			if b, ok = ew.cachedEnvelope(b, m.Cached.Envelope, reply); ok {
				if err := ew.end(b); err != nil {
					return err
				}
				continue
			}
			var err error
			if computed, err = s.uncached(msgs[j:]); err != nil {
				return err
			}
		}
		if mi := computed[p.uid]; mi != nil {
			b = ew.envelope(b, mi.envelope(&s.env))
		} else {
			b, _ = ew.cachedEnvelope(b, m.Cached.Envelope, reply)
		}
		if err := ew.end(b); err != nil {
			return err
		}
	}
	return nil
}

// uncached prepares, with infos, the views of the shared messages of
// msgs whose cached text cachedEnvelope cannot write, by UID.
func (s *session) uncached(msgs []storage.IMAPMessage) (map[uint32]*msgInfo, error) {
	var rest []storage.IMAPMessage
	var f [13]string
	for _, m := range msgs {
		if !cachedFields(m.Cached.Envelope, &f) {
			rest = append(rest, m)
		}
	}
	infos, err := s.infos(rest, true, true, false)
	if err != nil {
		return nil, s.internal("fetch", err)
	}
	out := make(map[uint32]*msgInfo, len(infos))
	for _, mi := range infos {
		out[mi.m.UID] = mi
	}
	return out, nil
}

// fetchFlags serves FETCH of UID and FLAGS only, the most frequent
// request (clients resynchronising).
func (s *session) fetchFlags(pairs []pair, opts *imap.FetchOptions) error {
	fw := s.newFetchWire()
	defer fw.flush()
	return s.writeFlags(fw, pairs, opts.UID, opts.Flags)
}

// writeFlags writes FETCH (UID FLAGS) responses for the messages of
// pairs, in order: in a shared folder from the flag cache, elsewhere (or
// for flags the cache does not hold) from a lean query.
func (s *session) writeFlags(fw *fetchWire, pairs []pair, uid, flags bool) error {
	if s.sel.mb.Virtual() && len(pairs) > 0 {
		done, err := s.flagsCached(fw, pairs, uid, flags)
		if done || err != nil {
			return err
		}
	}
	for len(pairs) > 0 {
		chunk := pairs[:min(len(pairs), 4*fetchChunk)]
		pairs = pairs[len(chunk):]
		fl, err := s.srv.cfg.Store.IMAPFlags(s.ctx, s.company.ID, s.sel.mb.ID, uidsOf(chunk))
		if err != nil {
			return s.internal("fetch flags", err)
		}
		i := 0
		for _, c := range fl {
			for i < len(chunk) && chunk[i].uid < c.UID {
				i++
			}
			if i == len(chunk) || chunk[i].uid != c.UID {
				continue
			}
			if err := fw.flags(chunk[i].seq, c.UID, uid, flags, c.Flags); err != nil {
				return err
			}
		}
	}
	return nil
}

// flagsCached writes the FETCH (UID FLAGS) responses of pairs, in a
// shared folder, from one copy of the flag cache; done is false, with
// nothing written, when some message has flags the cache does not hold.
func (s *session) flagsCached(fw *fetchWire, pairs []pair, uid, flags bool) (done bool, err error) {
	lo, hi := pairs[0].uid, pairs[0].uid
	for _, p := range pairs {
		lo, hi = min(lo, p.uid), max(hi, p.uid)
	}
	uidNext := s.sel.uidNext
	codes, err := s.srv.flags.span(s.ctx, s.srv.cfg.Store, s.company.ID, s.sel.mb.ID, uidNext, lo, hi)
	if err != nil {
		return false, s.internal("fetch flags", err)
	}
	for _, c := range codes {
		if c&codeOther != 0 {
			return false, nil
		}
	}
	var buf [4]string
	for _, p := range pairs {
		if p.uid >= uidNext {
			continue
		}
		c := codes[p.uid-lo]
		if c&codeKnown == 0 {
			continue // expunged: no longer in the database
		}
		if err := fw.flags(p.seq, p.uid, uid, flags, appendFlags(buf[:0], c)); err != nil {
			return true, err
		}
	}
	return true, nil
}

// remember notes flags this session reported itself, so that the next
// sync does not report them again.
func (s *session) remember(changes []storage.IMAPChange) {
	if s.sel.echo == nil {
		s.sel.echo = make(map[uint32]string, len(changes))
	}
	for _, c := range changes {
		s.sel.echo[c.UID] = strings.Join(c.Flags, " ")
	}
}

// fetchOne writes one message's items; flags with them when seen says
// the FETCH just set its \Seen (RFC 9051 section 6.4.5).
func (s *session) fetchOne(w *imapserver.FetchWriter, seq uint32, mi *msgInfo, opts *imap.FetchOptions, seen bool) error {
	var blob storage.Blob
	if len(opts.BodySection) > 0 || len(opts.BinarySection) > 0 || len(opts.BinarySectionSize) > 0 {
		b, err := s.openBlob(mi)
		if err != nil {
			return s.internal("fetch: open message", err)
		}
		defer b.Close()
		blob = b
	}
	// Everything that can fail is prepared before the response starts:
	// once it has, only the connection failing can stop it.
	type body struct {
		sec  *imap.FetchItemBodySection
		segs []seg
	}
	var bodies []body
	for _, sec := range opts.BodySection {
		segs, err := mi.bodySection(blob, sec, s.srv.cfg.AuthservID)
		if err != nil {
			return s.internal("fetch: section", err)
		}
		bodies = append(bodies, body{sec, segs})
	}
	type binary struct {
		sec  *imap.FetchItemBinarySection
		p    *part
		size int64
	}
	var binaries []binary
	for _, sec := range opts.BinarySection {
		p, size, err := s.binarySize(blob, mi, sec.Part)
		if err != nil {
			return err
		}
		if sec.Partial != nil {
			size = max(0, min(size-sec.Partial.Offset, sec.Partial.Size))
		}
		binaries = append(binaries, binary{sec, p, size})
	}
	var binSizes []uint32
	for _, sec := range opts.BinarySectionSize {
		_, size, err := s.binarySize(blob, mi, sec.Part)
		if err != nil {
			return err
		}
		binSizes = append(binSizes, uint32(min(size, 1<<32-1)))
	}

	rw := w.CreateMessage(seq)
	if opts.UID {
		rw.WriteUID(imap.UID(mi.m.UID))
	}
	if opts.Flags || seen {
		rw.WriteFlags(imapFlags(mi.m.Flags))
	}
	if opts.InternalDate {
		rw.WriteInternalDate(mi.m.Date)
	}
	if opts.RFC822Size {
		rw.WriteRFC822Size(mi.size())
	}
	if opts.Envelope {
		rw.WriteEnvelope(mi.envelope(&s.env))
	}
	if opts.BodyStructure != nil {
		rw.WriteBodyStructure(mi.root.bodyStructure())
	}
	var err error
	for _, b := range bodies {
		lw := rw.WriteBodySection(b.sec, segsLen(b.segs))
		err = errors.Join(err, writeSegs(lw, blob, b.segs), lw.Close())
	}
	for _, b := range binaries {
		lw := rw.WriteBinarySection(b.sec, b.size)
		err = errors.Join(err, s.writeBinary(lw, blob, mi, b.p, b.sec), lw.Close())
	}
	for i, sec := range opts.BinarySectionSize {
		rw.WriteBinarySectionSize(sec, binSizes[i])
	}
	if err != nil {
		// The literal is short: the client cannot parse anything after it.
		s.conn.NetConn().Close()
		rw.Close()
		return s.internal("fetch: write message", err)
	}
	return rw.Close()
}

// binarySize finds a part for BINARY and counts its decoded bytes.
func (s *session) binarySize(b storage.Blob, mi *msgInfo, path []int) (*part, int64, error) {
	if len(path) == 0 {
		return nil, mi.size(), nil
	}
	p := mi.root.find(path)
	if p == nil || p.multipart() {
		return nil, 0, errNo(imap.ResponseCodeNonExistent, "No such message part")
	}
	r, err := decoded(b, p)
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil, 0, s.internal("fetch: decode part", err)
	}
	return p, n, nil
}

// writeBinary writes a decoded part (or the whole view for BINARY[]).
func (s *session) writeBinary(w io.Writer, b storage.Blob, mi *msgInfo, p *part, sec *imap.FetchItemBinarySection) error {
	if p == nil {
		segs, err := mi.bodySection(b, &imap.FetchItemBodySection{Partial: sec.Partial}, s.srv.cfg.AuthservID)
		if err != nil {
			return err
		}
		return writeSegs(w, b, segs)
	}
	r, err := decoded(b, p)
	if err != nil {
		return err
	}
	if sec.Partial != nil {
		if _, err := io.CopyN(io.Discard, r, sec.Partial.Offset); err != nil && err != io.EOF {
			return err
		}
		r = io.LimitReader(r, sec.Partial.Size)
	}
	_, err = io.Copy(w, r)
	return err
}
