package imapd

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode bodies in any charset for SEARCH
	"github.com/emersion/go-message/textproto"
)

// needs says what a search criteria reads of each message.
type needs struct {
	msg    bool // the message row (dates, sizes, flags of private folders)
	light  bool // envelope
	header bool // the stored header
	body   bool // the content
	flags  map[string]bool
}

func (n *needs) add(c *imap.SearchCriteria, virtual bool) {
	if !c.Since.IsZero() || !c.Before.IsZero() || c.Larger > 0 || c.Smaller > 0 {
		n.msg = true
	}
	if c.Larger > 0 || c.Smaller > 0 {
		n.light = true
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		n.light = true
	}
	for _, h := range c.Header {
		switch k := strings.ToLower(h.Key); {
		case strings.HasPrefix(k, "x-partner-"):
			n.msg = true
		case envelopeField(k):
			n.light = true
		default:
			n.header = true
		}
	}
	if len(c.Body) > 0 || len(c.Text) > 0 {
		n.body = true
	}
	for _, f := range append(append([]imap.Flag(nil), c.Flag...), c.NotFlag...) {
		n.flags[strings.ToLower(string(f))] = true
		if !virtual {
			n.msg = true
		}
	}
	for i := range c.Not {
		n.add(&c.Not[i], virtual)
	}
	for i := range c.Or {
		n.add(&c.Or[i][0], virtual)
		n.add(&c.Or[i][1], virtual)
	}
}

func envelopeField(k string) bool {
	switch k {
	case "subject", "from", "to", "cc", "bcc", "message-id", "in-reply-to", "reply-to":
		return true
	}
	return false
}

// static replaces "*" and "$" in the sets of c by what they mean now.
func (sel *selected) static(c *imap.SearchCriteria) {
	for i, set := range c.SeqNum {
		c.SeqNum[i] = staticSeq(set, sel.view.len())
	}
	for i, set := range c.UID {
		if imap.IsSearchRes(set) {
			var u imap.UIDSet
			for _, uid := range sel.saved {
				u.AddNum(imap.UID(uid))
			}
			c.UID[i] = u
			continue
		}
		c.UID[i] = staticUID(set, sel.view.last())
	}
	for i := range c.Not {
		sel.static(&c.Not[i])
	}
	for i := range c.Or {
		sel.static(&c.Or[i][0])
		sel.static(&c.Or[i][1])
	}
}

func staticSeq(set imap.SeqSet, last uint32) imap.SeqSet {
	out := make(imap.SeqSet, len(set))
	for i, r := range set {
		if r.Start == 0 {
			r.Start = last
		}
		if r.Stop == 0 {
			r.Stop = last
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out[i] = r
	}
	return out
}

func staticUID(set imap.UIDSet, last uint32) imap.UIDSet {
	out := make(imap.UIDSet, len(set))
	for i, r := range set {
		if r.Start == 0 {
			r.Start = imap.UID(last)
		}
		if r.Stop == 0 {
			r.Stop = imap.UID(last)
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out[i] = r
	}
	return out
}

// flagBits holds, per flag (lower case), a bit per sequence number.
type flagBits map[string][]uint64

// candidate is one message being searched.
type candidate struct {
	p      pair
	bits   flagBits // shared folders
	mi     *msgInfo
	header []byte // view header, loaded on demand
	text   []string
}

// Search finds the messages matching the criteria.
func (s *session) Search(kind imapserver.NumKind, c *imap.SearchCriteria, opts *imap.SearchOptions) (*imap.SearchData, error) {
	sel := s.sel
	sel.static(c)
	n := needs{flags: map[string]bool{}}
	n.add(c, sel.mb.Virtual())
	st := s.srv.cfg.Store
	n32 := sel.view.len()
	var bits flagBits
	if sel.mb.Virtual() && len(n.flags) > 0 {
		// Shared flags become bitsets over the view's sequence numbers,
		// from the flag cache (other flags are not kept: a query says so).
		bits = flagBits{}
		for f := range n.flags {
			// Most messages are read: ask for the unread ones.
			has := f != strings.ToLower(string(imap.FlagSeen))
			var uids []uint32
			var err error
			if bit := codeBit(f); bit != 0 {
				uids, err = s.srv.flags.uidsWith(s.ctx, st, s.company.ID, sel.mb.ID, sel.uidNext, bit, has)
			} else {
				uids, err = st.IMAPFlagUIDs(s.ctx, s.company.ID, sel.mb.ID, f, has)
			}
			if err != nil {
				return nil, s.internal("search", err)
			}
			b := make([]uint64, (n32+63)/64)
			if !has {
				for i := range b {
					b[i] = ^uint64(0)
				}
			}
			for _, u := range uids {
				if seq := sel.view.seq(u); seq != 0 {
					b[(seq-1)/64] ^= 1 << ((seq - 1) % 64)
				}
			}
			bits[f] = b
		}
	}
	perMessage := n.msg || n.light || n.header || n.body
	var matched []pair
	if !perMessage && (bits != nil || len(n.flags) == 0) {
		matched = sel.pairsOf(sel.matchBits(c, bits))
	} else {
		var err error
		if matched, err = s.searchEach(c, n, bits); err != nil {
			return nil, err
		}
	}
	data := &imap.SearchData{}
	var seqs imap.SeqSet
	var uids imap.UIDSet
	var saved []uint32
	for _, p := range matched {
		num := p.seq
		if kind == imapserver.NumKindUID {
			num = p.uid
		}
		seqs.AddNum(p.seq)
		uids.AddNum(imap.UID(p.uid))
		saved = append(saved, p.uid)
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if opts.ReturnSave {
		sel.saved = saved
	}
	return data, nil
}

// searchEach evaluates c on every message of the view, reading the
// messages when the criteria need them.
func (s *session) searchEach(c *imap.SearchCriteria, n needs, bits flagBits) ([]pair, error) {
	sel, st := s.sel, s.srv.cfg.Store
	perMessage := n.msg || n.light || n.header || n.body
	all := sel.view.resolve(imap.SeqSet{{Start: 1, Stop: 0}})
	var matched []pair
	cands := make([]candidate, 0, min(len(all), fetchChunk))
	for len(all) > 0 {
		chunk := all[:min(len(all), fetchChunk)]
		all = all[len(chunk):]
		cands = cands[:0]
		for _, p := range chunk {
			cands = append(cands, candidate{p: p, bits: bits})
		}
		if perMessage {
			msgs, err := st.IMAPMessagesCached(s.ctx, s.company.ID, sel.mb.ID, uidsOf(chunk), false)
			if err != nil {
				return nil, s.internal("search", err)
			}
			infos, err := s.infos(msgs, sel.mb.Virtual(), n.light || n.header || n.body, false)
			if err != nil {
				return nil, s.internal("search", err)
			}
			byUID := make(map[uint32]*msgInfo, len(infos))
			for _, mi := range infos {
				byUID[mi.m.UID] = mi
			}
			for i := range cands {
				cands[i].mi = byUID[cands[i].p.uid]
			}
		}
		for i := range cands {
			if (cands[i].mi != nil || !perMessage) && s.match(c, &cands[i]) {
				matched = append(matched, cands[i].p)
			}
		}
	}
	return matched, nil
}

func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// match evaluates c on one message.
func (s *session) match(c *imap.SearchCriteria, x *candidate) bool {
	for _, set := range c.SeqNum {
		if !set.Contains(x.p.seq) {
			return false
		}
	}
	for _, set := range c.UID {
		if !set.Contains(imap.UID(x.p.uid)) {
			return false
		}
	}
	for _, f := range c.Flag {
		if !x.hasFlag(f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if x.hasFlag(f) {
			return false
		}
	}
	if mi := x.mi; mi != nil {
		if !c.Since.IsZero() && day(mi.m.Date).Before(day(c.Since)) || !c.Before.IsZero() && !day(mi.m.Date).Before(day(c.Before)) {
			return false
		}
		if c.Larger > 0 && mi.size() <= c.Larger || c.Smaller > 0 && mi.size() >= c.Smaller {
			return false
		}
		if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
			// Without a (readable) Date: field a message counts as
			// sent in 1970, as Dovecot has it: SENTBEFORE matches it,
			// SENTSINCE does not (RFC 9051 does not say).
			d := mi.li.Env.Date
			if d.IsZero() {
				d = time.Unix(0, 0)
			}
			if !c.SentSince.IsZero() && day(d).Before(day(c.SentSince)) || !c.SentBefore.IsZero() && !day(d).Before(day(c.SentBefore)) {
				return false
			}
		}
		for _, h := range c.Header {
			if !s.matchHeader(x, h.Key, h.Value) {
				return false
			}
		}
		for _, t := range c.Body {
			if !s.matchText(x, t, false) {
				return false
			}
		}
		for _, t := range c.Text {
			if !s.matchText(x, t, true) {
				return false
			}
		}
	}
	for i := range c.Not {
		if s.match(&c.Not[i], x) {
			return false
		}
	}
	for _, or := range c.Or {
		if !s.match(&or[0], x) && !s.match(&or[1], x) {
			return false
		}
	}
	return true
}

func (x *candidate) hasFlag(f imap.Flag) bool {
	name := strings.ToLower(string(f))
	if x.bits != nil {
		b := x.bits[name]
		i := x.p.seq - 1
		return b != nil && b[i/64]&(1<<(i%64)) != 0
	}
	if x.mi == nil {
		return false
	}
	for _, g := range x.mi.m.Flags {
		if strings.EqualFold(g, string(f)) {
			return true
		}
	}
	return false
}

func contains(hay, needle string) bool {
	return strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
}

func addrText(l []imap.Address) string {
	var b strings.Builder
	for _, a := range l {
		if a.Host == "" { // a group's start (its name) or end marker
			b.WriteString(a.Mailbox + " ")
			continue
		}
		b.WriteString(a.Name + " <" + a.Mailbox + "@" + a.Host + "> ")
	}
	return b.String()
}

func (s *session) matchHeader(x *candidate, key, value string) bool {
	mi := x.mi
	k := strings.ToLower(key)
	// An empty value matches the messages that have the field at all
	// (RFC 9051 section 6.4.4): the header says, not the envelope.
	if value == "" || strings.HasPrefix(k, "x-partner-") || !envelopeField(k) {
		h := append(append([]byte(nil), mi.prefix()...), "\r\n"...)
		if !strings.HasPrefix(k, "x-partner-") {
			h = s.viewHeader(x)
		}
		hdr, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(h)))
		if err != nil && len(h) == 0 {
			return false
		}
		dec := mime.WordDecoder{}
		for _, v := range hdr.Values(key) {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			if contains(v, value) {
				return true
			}
		}
		return false
	}
	e := mi.envelope(nil)
	var v string
	switch k {
	case "subject":
		v = e.Subject
	case "from":
		v = addrText(e.From)
	case "to":
		v = addrText(e.To)
	case "cc":
		v = addrText(e.Cc)
	case "bcc":
		v = addrText(e.Bcc)
	case "message-id":
		v = "<" + e.MessageID + ">"
	case "in-reply-to":
		v = strings.Join(e.InReplyTo, " ")
	case "reply-to":
		v = addrText(e.ReplyTo)
	}
	return contains(v, value)
}

// viewHeader loads the header block of the view, once.
func (s *session) viewHeader(x *candidate) []byte {
	if x.header != nil {
		return x.header
	}
	b, err := s.srv.cfg.Store.Blobs().Open(s.ctx, x.mi.m.RawKey)
	if err != nil {
		s.log.Warn("imap search: open message", "uid", x.p.uid, "err", err)
		x.header = append([]byte(nil), x.mi.prefix()...)
		return x.header
	}
	defer b.Close()
	h, err := x.mi.header(b, s.srv.cfg.AuthservID)
	if err != nil || h == nil {
		h = append([]byte(nil), x.mi.prefix()...)
	}
	x.header = append(h, "\r\n"...)
	return x.header
}

const maxDecodedSearch = 32 << 20

// textParts appends the decoded text parts of the message r to text. An
// attached message (message/rfc822) is part of the body: its header
// block and its own text parts are searched too, as Dovecot does.
func textParts(text []string, r io.Reader, depth int) []string {
	e, err := gomessage.Read(r)
	if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
		return text
	}
	e.Walk(func(_ []int, p *gomessage.Entity, err error) error {
		if err != nil || p.MultipartReader() != nil {
			return nil
		}
		switch t, _, _ := p.Header.ContentType(); {
		case t == "" || strings.HasPrefix(t, "text/"):
			body, _ := io.ReadAll(p.Body)
			text = append(text, string(body))
		case (t == "message/rfc822" || t == "message/global") && depth < 8:
			body, _ := io.ReadAll(p.Body)
			if end := bytes.Index(body, []byte("\r\n\r\n")); end >= 0 {
				text = append(text, string(body[:end]))
			}
			text = textParts(text, bytes.NewReader(body), depth+1)
		}
		return nil
	})
	return text
}

// matchText searches the decoded text parts (and with header, the header
// block) of a message; messages too large to decode are searched raw.
func (s *session) matchText(x *candidate, needle string, header bool) bool {
	if header && contains(string(s.viewHeader(x)), needle) {
		return true
	}
	if x.text == nil {
		x.text = []string{}
		b, err := s.srv.cfg.Store.Blobs().Open(s.ctx, x.mi.m.RawKey)
		if err != nil {
			s.log.Warn("imap search: open message", "uid", x.p.uid, "err", err)
			return false
		}
		defer b.Close()
		r := io.NewSectionReader(b, 0, b.Size())
		if b.Size() > maxDecodedSearch {
			raw, _ := io.ReadAll(io.LimitReader(r, maxDecodedSearch))
			x.text = append(x.text, string(raw))
		} else {
			x.text = textParts(x.text, r, 0)
		}
	}
	for _, t := range x.text {
		if contains(t, needle) {
			return true
		}
	}
	return false
}
