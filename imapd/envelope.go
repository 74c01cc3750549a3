package imapd

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// extractEnvelope is imapserver.ExtractEnvelope with the RFC 5322 groups
// of the address lists kept, as RFC 9051 section 7.5.2 shows them: a
// start marker (NIL NIL "name" NIL), the members, an end marker
// (NIL NIL NIL NIL). imapserver keeps the members and drops the markers,
// so "Cc: undisclosed-recipients:;" would be NIL. A list without groups,
// or one this cannot read, is imapserver's.
func extractEnvelope(h textproto.Header) *imap.Envelope {
	e := imapserver.ExtractEnvelope(h)
	for _, f := range [...]struct {
		key string
		l   *[]imap.Address
	}{
		{"From", &e.From}, {"Sender", &e.Sender}, {"Reply-To", &e.ReplyTo},
		{"To", &e.To}, {"Cc", &e.Cc}, {"Bcc", &e.Bcc},
	} {
		v := h.Get(f.key)
		if strings.IndexByte(v, ':') < 0 { // no group: the common case
			continue
		}
		if l, ok := withGroups(v, *f.l); ok {
			*f.l = l
		}
	}
	return e
}

// segment is a piece of an address list: one plain address, or a group.
type segment struct {
	group bool
	name  string // the group's display name, raw
	list  string // the address, or the group's members, raw
}

// withGroups rebuilds the address list v, which imapserver read as flat,
// with group markers. The members are parsed as imapserver parses
// addresses, and must come out as flat does, one for one; ok is false
// when v has no group or anything disagrees.
func withGroups(v string, flat []imap.Address) (l []imap.Address, ok bool) {
	segs, ok := splitGroups(v)
	if !ok {
		return nil, false
	}
	n := 0 // members of flat matched
	for _, s := range segs {
		if s.group {
			name, ok := groupName(s.name)
			if !ok {
				return nil, false
			}
			l = append(l, imap.Address{Mailbox: name})
		}
		if !blank(s.list) {
			addrs, err := mail.ParseAddressList(s.list)
			if err != nil {
				return nil, false
			}
			for _, a := range addrs {
				mailbox, host, ok := strings.Cut(a.Address, "@")
				if !ok {
					continue // as imapserver does
				}
				if n == len(flat) || flat[n] != (imap.Address{Name: a.Name, Mailbox: mailbox, Host: host}) {
					return nil, false
				}
				l = append(l, flat[n])
				n++
			}
		}
		if s.group {
			l = append(l, imap.Address{})
		}
	}
	if n != len(flat) {
		return nil, false
	}
	return l, true
}

// groupName decodes a group's display name as the display name of an
// address (RFC 2047 encoded words, quoted strings, comments), by parsing
// it as one. An empty name would read as an end marker: ok is false.
func groupName(raw string) (string, bool) {
	a, err := mail.ParseAddress(raw + " <g@g>")
	if err != nil || a.Name == "" {
		return "", false
	}
	return a.Name, true
}

// splitGroups cuts the address list v at the commas, colons and
// semicolons outside quoted strings, comments and angle brackets (RFC
// 5322 section 3.4: group = display-name ":" [group-list] ";" [CFWS]).
// ok is false when v has no group or is not well formed: an unterminated
// group, quote, comment or bracket, a group in a group, a stray ';' or
// something other than CFWS between a group's ';' and the next ','.
func splitGroups(v string) (segs []segment, ok bool) {
	start := 0       // of the current address or group's members
	name := ""       // of the open group
	inGroup := false // between ':' and ';'
	closed := false  // after a group's ';', before the next ','
	grouped := false // a group was seen
	quoted, angle := false, false
	depth := 0 // of comments
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && (quoted || depth > 0):
			i++ // quoted-pair
		case quoted:
			quoted = c != '"'
		case depth > 0:
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case angle:
			angle = c != '>'
		case c == '<':
			angle = true
		case c == ':':
			if inGroup || closed {
				return nil, false
			}
			name, start, inGroup, grouped = v[start:i], i+1, true, true
		case c == ';':
			if !inGroup {
				return nil, false
			}
			segs = append(segs, segment{group: true, name: name, list: v[start:i]})
			start, inGroup, closed = i+1, false, true
		case c == ',' && !inGroup:
			if closed && !blank(v[start:i]) {
				return nil, false
			}
			if !closed {
				segs = append(segs, segment{list: v[start:i]})
			}
			start, closed = i+1, false
		}
	}
	if quoted || depth > 0 || angle || inGroup || !grouped || closed && !blank(v[start:]) {
		return nil, false
	}
	if !closed {
		segs = append(segs, segment{list: v[start:]})
	}
	return segs, true
}

// blank reports whether s is only white space and comments (CFWS).
func blank(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			return false
		}
	}
	return depth == 0
}
