package imapd

import (
	"container/list"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// light is what FETCH of many messages needs from each blob: where the
// header ends, how many bytes of forged Authentication-Results the view
// hides, and the ENVELOPE. It is cached in the database in a compact
// text form (IMAPCached.Envelope) that decodes far faster than JSON.
type light struct {
	HeaderLen int64
	Strip     int64
	Env       *imap.Envelope
}

const (
	sepField = "\x1f"
	sepItem  = "\x1e"
	sepPart  = "\x1d"
)

func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.ContainsAny(s, "\x00\x1c\x1d\x1e\x1f") {
		s = strings.Map(func(r rune) rune {
			if r == 0 || r >= 0x1c && r <= 0x1f {
				return ' '
			}
			return r
		}, s)
	}
	return s
}

func encodeAddrs(b *strings.Builder, l []imap.Address) {
	for i, a := range l {
		if i > 0 {
			b.WriteString(sepItem)
		}
		b.WriteString(clean(a.Name) + sepPart + clean(a.Mailbox) + sepPart + clean(a.Host))
	}
}

// nextAddr parses the first address of a non-empty list of encodeAddrs's
// form and returns what follows it; ok is false for an item that is not
// an address (skipped).
func nextAddr(s string) (name, mbox, host, rest string, ok bool) {
	it, rest, _ := strings.Cut(s, sepItem)
	name, addr, ok1 := strings.Cut(it, sepPart)
	mbox, host, ok2 := strings.Cut(addr, sepPart)
	return name, mbox, host, rest, ok1 && ok2
}

// decodeAddrs parses an address list of encode's form into the front of
// slab and returns the list and what is left of slab.
func decodeAddrs(s string, slab []imap.Address) ([]imap.Address, []imap.Address) {
	if s == "" {
		return nil, slab
	}
	n := 0
	for s != "" {
		var name, mbox, host string
		var ok bool
		if name, mbox, host, s, ok = nextAddr(s); ok {
			slab[n] = imap.Address{Name: name, Mailbox: mbox, Host: host}
			n++
		}
	}
	if n == 0 {
		return []imap.Address{}, slab // as before: empty, not nil
	}
	return slab[:n:n], slab[n:]
}

// encode writes l in the cache's text form.
func (l *light) encode() string {
	var b strings.Builder
	e := l.Env
	if e == nil {
		e = &imap.Envelope{}
	}
	b.WriteString("1" + sepField)
	b.WriteString(strconv.FormatInt(l.HeaderLen, 10) + sepField + strconv.FormatInt(l.Strip, 10) + sepField)
	if !e.Date.IsZero() {
		_, off := e.Date.Zone()
		b.WriteString(strconv.FormatInt(e.Date.Unix(), 10) + "," + strconv.Itoa(off))
	}
	b.WriteString(sepField + clean(e.Subject))
	for _, al := range [][]imap.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		b.WriteString(sepField)
		encodeAddrs(&b, al)
	}
	b.WriteString(sepField)
	for i, id := range e.InReplyTo {
		if i > 0 {
			b.WriteString(sepItem)
		}
		b.WriteString(clean(id))
	}
	b.WriteString(sepField + clean(e.MessageID))
	return b.String()
}

var zones sync.Map // offset seconds → *time.Location

func zone(off int) *time.Location {
	if z, ok := zones.Load(off); ok {
		return z.(*time.Location)
	}
	z, _ := zones.LoadOrStore(off, time.FixedZone("", off))
	return z.(*time.Location)
}

// decodedLight is a light and its envelope in one allocation.
type decodedLight struct {
	light
	env imap.Envelope
}

// decodeLight parses encode's form; ok is false for anything else. A
// FETCH 1:* (ENVELOPE) decodes one per message: the fields are cut in
// place and the addresses share one slice, two allocations in all.
func decodeLight(s string) (*light, bool) {
	var f [13]string
	n := 0
	for rest, more := s, true; more; n++ {
		if n == len(f) {
			return nil, false
		}
		f[n], rest, more = strings.Cut(rest, sepField)
	}
	if n != len(f) || f[0] != "1" {
		return nil, false
	}
	d := &decodedLight{}
	l := &d.light
	l.Env = &d.env
	var err error
	if l.HeaderLen, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		return nil, false
	}
	if l.Strip, err = strconv.ParseInt(f[2], 10, 64); err != nil {
		return nil, false
	}
	if sec, off, ok := strings.Cut(f[3], ","); ok {
		u, err1 := strconv.ParseInt(sec, 10, 64)
		o, err2 := strconv.Atoi(off)
		if err1 == nil && err2 == nil {
			l.Env.Date = time.Unix(u, 0).In(zone(o))
		}
	}
	e := l.Env
	e.Subject = f[4]
	items := 0
	for _, a := range f[5:11] {
		if a != "" {
			items += strings.Count(a, sepItem) + 1
		}
	}
	slab := make([]imap.Address, items)
	e.From, slab = decodeAddrs(f[5], slab)
	e.Sender, slab = decodeAddrs(f[6], slab)
	e.ReplyTo, slab = decodeAddrs(f[7], slab)
	e.To, slab = decodeAddrs(f[8], slab)
	e.Cc, slab = decodeAddrs(f[9], slab)
	e.Bcc, _ = decodeAddrs(f[10], slab)
	if f[11] != "" {
		e.InReplyTo = strings.Split(f[11], sepItem)
	}
	e.MessageID = f[12]
	return l, true
}

// layoutCache keeps recently used layouts in memory, by blob key.
type layoutCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type cacheItem struct {
	key   string
	light *light
	root  *part
}

func newLayoutCache(max int) *layoutCache {
	return &layoutCache{max: max, ll: list.New(), items: make(map[string]*list.Element)}
}

func (c *layoutCache) get(key string) (*light, *part) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		it := e.Value.(*cacheItem)
		return it.light, it.root
	}
	return nil, nil
}

func (c *layoutCache) put(key string, l *light, root *part) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		it := e.Value.(*cacheItem)
		if l != nil {
			it.light = l
		}
		if root != nil {
			it.root = root
		}
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheItem{key: key, light: l, root: root})
	for c.ll.Len() > c.max {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.items, e.Value.(*cacheItem).key)
	}
}
