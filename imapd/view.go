package imapd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/partnermail/partnermail/smtpd/authcheck"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// maxHeaderMem is the largest header the view reads into memory (to hide
// forged fields, or to filter HEADER.FIELDS); bigger ones are served from
// the blob as they are.
const maxHeaderMem = 4 << 20

// msgInfo is one message as the staff view shows it: the prefix header
// block, then the stored message (its header without forged
// Authentication-Results fields when it is a partner message).
type msgInfo struct {
	m       storage.IMAPMessage
	sess    *session
	virtual bool
	pre     []byte // built on first use, see prefix
	strip   bool   // hide forged Authentication-Results fields
	li      *light
	root    *part
	reply   string // thread+TOKEN address (shared messages)
	data    []byte // the blob, when read ahead (readahead.go)
}

// prefix returns the header block the view puts before the message.
func (mi *msgInfo) prefix() []byte {
	if mi.pre != nil {
		return mi.pre
	}
	if mi.virtual {
		var pre string
		pre, mi.reply = mi.sess.sharedPrefix(mi.m)
		mi.pre = []byte(pre)
	} else {
		mi.pre = []byte(mi.m.Prefix)
	}
	return mi.pre
}

func (mi *msgInfo) key() string {
	if mi.m.MessageID != 0 {
		return "m:" + strconv.FormatInt(mi.m.MessageID, 10)
	}
	return "r:" + mi.m.RawKey
}

// size is RFC822.SIZE of the view.
func (mi *msgInfo) size() int64 { return int64(len(mi.prefix())) + mi.m.Size - mi.li.Strip }

// threadAddress returns the thread+TOKEN reply address of a thread.
func (s *session) threadAddress(threadID int64) string {
	if threadID == 0 || len(s.company.Domains) == 0 {
		return ""
	}
	return s.srv.addrs.get(s.company.ID, threadID, func() string {
		a, err := s.srv.cfg.Tokens.MintAddress(threading.Token{Kind: threading.KindThread, CompanyID: s.company.ID, ThreadID: threadID},
			s.company.Domains[0])
		if err != nil {
			s.log.Warn("imap: mint thread address", "thread", threadID, "err", err)
			return ""
		}
		return a
	})
}

// addrCache keeps minted thread addresses (an HMAC each) for all
// sessions, per company: a FETCH 1:* (ENVELOPE) looks one up for every
// message, and an int64-keyed map is several times faster than one keyed
// by the (company, thread) pair.
type addrCache struct {
	mu sync.Mutex
	m  map[int64]map[int64]string
	n  int
}

const addrCacheMax = 200000

func (c *addrCache) get(companyID, threadID int64, mint func() string) string {
	c.mu.Lock()
	a, ok := c.m[companyID][threadID]
	c.mu.Unlock()
	if ok {
		return a
	}
	a = mint()
	c.mu.Lock()
	if c.m == nil || c.n >= addrCacheMax {
		c.m, c.n = make(map[int64]map[int64]string), 0
	}
	byThread := c.m[companyID]
	if byThread == nil {
		byThread = make(map[int64]string)
		c.m[companyID] = byThread
	}
	if _, ok := byThread[threadID]; !ok {
		c.n++
	}
	byThread[threadID] = a
	c.mu.Unlock()
	return a
}

func headerValue(v string) string {
	v = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, v)
	return mime.QEncoding.Encode("utf-8", v)
}

// sharedPrefix is the header block of a shared message: the reply
// address of its thread, the partner team's attributes (as they were when
// the message got its UID), and our Authentication-Results.
func (s *session) sharedPrefix(m storage.IMAPMessage) (string, string) {
	var b strings.Builder
	addr := s.threadAddress(m.ThreadID)
	if addr != "" {
		b.WriteString("Reply-To: <" + addr + ">\r\n")
	}
	for _, f := range [][2]string{{"X-Partner-Team", m.TeamName}, {"X-Partner-Group", m.GroupName},
		{"X-Partner-Manager", m.ManagerName}, {"X-Partner-Status", m.TeamStatus}} {
		if f[1] != "" {
			b.WriteString(f[0] + ": " + headerValue(f[1]) + "\r\n")
		}
	}
	b.WriteString(authcheck.FormatField(m.AuthResults))
	return b.String(), addr
}

// infos prepares the views of msgs, with their light layouts (needLight)
// and part trees (needRoot), from the caches or the blobs.
func (s *session) infos(msgs []storage.IMAPMessage, virtual, needLight, needRoot bool) ([]*msgInfo, error) {
	out := make([]*msgInfo, len(msgs))
	all := make([]msgInfo, len(msgs)) // one allocation, not one per message
	var ids []int64
	for i, m := range msgs {
		mi := &all[i]
		*mi = msgInfo{m: m, strip: m.MessageID != 0 && s.srv.cfg.AuthservID != "", sess: s, virtual: virtual}
		out[i] = mi
		if !needLight && !needRoot {
			continue
		}
		if c := m.Cached; c.Envelope != "" { // read with the message
			mi.li, _ = decodeLight(c.Envelope)
			if needRoot && c.BodyStructure != "" {
				if _, mi.root = s.srv.cache.get(mi.key()); mi.root == nil {
					var p part
					if json.Unmarshal([]byte(c.BodyStructure), &p) == nil {
						mi.root = &p
						s.srv.cache.put(mi.key(), nil, mi.root)
					}
				}
			}
			continue
		}
		mi.li, mi.root = s.srv.cache.get(mi.key())
		if (mi.li == nil || needRoot && mi.root == nil) && m.MessageID != 0 {
			ids = append(ids, m.MessageID)
		}
	}
	if len(ids) > 0 {
		cached, err := s.srv.cfg.Store.IMAPCache(s.ctx, s.company.ID, ids)
		if err != nil {
			return nil, err
		}
		for _, mi := range out {
			c, ok := cached[mi.m.MessageID]
			if !ok {
				continue
			}
			if mi.li == nil {
				mi.li, _ = decodeLight(c.Envelope)
			}
			if needRoot && mi.root == nil && c.BodyStructure != "" {
				var p part
				if json.Unmarshal([]byte(c.BodyStructure), &p) == nil {
					mi.root = &p
				}
			}
			s.srv.cache.put(mi.key(), mi.li, mi.root)
		}
	}
	var todo []*msgInfo
	for _, mi := range out {
		if (needLight || needRoot) && (mi.li == nil || needRoot && mi.root == nil) {
			todo = append(todo, mi)
		}
	}
	if err := s.fillRawKeys(todo); err != nil {
		return nil, err
	}
	// In batches of readBatch: the blobs of a batch are in memory together.
	err := inBatches(s.ctx, s.srv, todo, func(mi *msgInfo) string { return mi.m.RawKey }, func(mi *msgInfo, data []byte) error {
		var c storage.IMAPCached
		if err := s.compute(mi, needRoot, data, &c); err != nil {
			return err
		}
		if mi.m.MessageID != 0 {
			s.srv.storeCache(s.company.ID, mi.m.MessageID, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fillRawKeys reads the blob keys IMAPEnvelopes left out of shared
// messages whose cached ENVELOPE turned out unreadable (an older
// format), from their full rows.
func (s *session) fillRawKeys(todo []*msgInfo) error {
	var uids []uint32
	for _, mi := range todo {
		if mi.m.RawKey == "" && mi.m.MessageID != 0 {
			uids = append(uids, mi.m.UID)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	msgs, err := s.srv.cfg.Store.IMAPMessages(s.ctx, s.company.ID, s.sel.mb.ID, uids)
	if err != nil {
		return err
	}
	keys := make(map[uint32]string, len(msgs))
	for _, m := range msgs {
		keys[m.UID] = m.RawKey
	}
	for _, mi := range todo {
		if mi.m.RawKey == "" && mi.m.MessageID != 0 {
			mi.m.RawKey = keys[mi.m.UID]
		}
	}
	return nil
}

// compute reads the blob of mi (data, when it was read in a batch) for
// what the caches lacked.
func (s *session) compute(mi *msgInfo, needRoot bool, data []byte, c *storage.IMAPCached) error {
	b, err := s.srv.openBlob(s.ctx, mi.m.RawKey, data)
	if err != nil {
		return fmt.Errorf("open message %d: %w", mi.m.UID, err)
	}
	defer b.Close()
	if mi.li == nil {
		mi.li, err = blobLight(b, mi.strip, s.srv.cfg.AuthservID)
		if err != nil {
			return fmt.Errorf("read message %d: %w", mi.m.UID, err)
		}
		c.Envelope = mi.li.encode()
	}
	if needRoot && mi.root == nil {
		mi.root = parseStructure(io.NewSectionReader(b, 0, b.Size()))
		js, err := json.Marshal(mi.root)
		if err != nil {
			return err
		}
		c.BodyStructure = string(js)
	}
	s.srv.cache.put(mi.key(), mi.li, mi.root)
	return nil
}

// envBuf holds the ENVELOPE of one message while it is written, so that
// a FETCH 1:* (ENVELOPE) does not allocate a copy per message.
type envBuf struct {
	e     imap.Envelope
	reply [1]imap.Address
}

// envelope is the ENVELOPE of the view: the stored message's, with the
// Reply-To of the prefix. It is built in buf when buf is not nil (valid
// until the next call with buf).
func (mi *msgInfo) envelope(buf *envBuf) *imap.Envelope {
	if buf == nil {
		buf = new(envBuf)
	}
	buf.e = *mi.li.Env
	e := &buf.e
	if mi.virtual {
		if a := mi.sess.threadAddress(mi.m.ThreadID); a != "" {
			local, host, _ := strings.Cut(a, "@")
			buf.reply[0] = imap.Address{Mailbox: local, Host: host}
			e.ReplyTo = buf.reply[:]
		}
		return e
	}
	switch {
	case len(mi.prefix()) > 0:
		h, err := textproto.ReadHeader(bufio.NewReader(io.MultiReader(bytes.NewReader(mi.pre), strings.NewReader("\r\n"))))
		if err == nil && h.Has("Reply-To") {
			mh := mail.Header{Header: gomessage.Header{Header: h}}
			if l, err := mh.AddressList("Reply-To"); err == nil {
				e.ReplyTo = nil
				for _, a := range l {
					local, host, _ := strings.Cut(a.Address, "@")
					e.ReplyTo = append(e.ReplyTo, imap.Address{Name: a.Name, Mailbox: local, Host: host})
				}
			}
		}
	}
	return e
}
