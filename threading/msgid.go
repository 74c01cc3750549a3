package threading

import (
	"crypto/rand"
	"strings"
	"time"
)

// MaxMessageIDs bounds how many Message-IDs ParseMessageIDList returns;
// of a longer References header the last (newest) ones are kept.
const MaxMessageIDs = 50

// maxMessageIDLen bounds one Message-ID (RFC 5322 lines are at most 998
// octets).
const maxMessageIDLen = 998

// NewMessageID returns a new globally unique Message-ID for outbound mail
// from domain, without angle brackets (as storage keeps it); write it as
// "<" + id + ">". The left part carries 130 random bits and the time.
func NewMessageID(domain string, now time.Time) string {
	domain = strings.Trim(strings.ToLower(domain), "<>@ \t")
	if domain == "" {
		domain = "partnermail.invalid"
	}
	ts := strings.ToLower(formatBase36(now.UnixMilli()))
	return ts + "." + strings.ToLower(rand.Text()) + "@" + domain
}

func formatBase36(n int64) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	if n <= 0 {
		return "0"
	}
	var b [16]byte
	i := len(b)
	for ; n > 0; n /= 36 {
		i--
		b[i] = digits[n%36]
	}
	return string(b[i:])
}

// ParseMessageIDList returns the Message-IDs of an In-Reply-To or
// References header value, in header order (for References: oldest
// first), without angle brackets, duplicates removed, at most the last
// MaxMessageIDs. It tolerates what real mailers write: comments, commas,
// quoted phrases, and IDs without brackets when there are no brackets at
// all. Anything that cannot be an ID is skipped.
func ParseMessageIDList(value string) []string {
	var ids []string
	if strings.IndexByte(value, '<') >= 0 {
		rest := value
		for {
			i := strings.IndexByte(rest, '<')
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			j := strings.IndexAny(rest, "<>")
			if j < 0 {
				ids = append(ids, rest) // unterminated: take the tail
				break
			}
			if rest[j] == '<' { // "<a <b>": restart at the inner bracket
				rest = rest[j:]
				continue
			}
			ids = append(ids, rest[:j])
			rest = rest[j+1:]
		}
	} else {
		ids = strings.FieldsFunc(value, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ','
		})
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		id = cleanMessageID(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	if len(out) > MaxMessageIDs {
		out = out[len(out)-MaxMessageIDs:]
	}
	return out
}

// cleanMessageID trims an ID candidate and returns "" when it cannot be a
// Message-ID: it needs an "@" with something on both sides and no
// whitespace, control characters or brackets.
func cleanMessageID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > maxMessageIDLen {
		return ""
	}
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' {
			return ""
		}
	}
	return id
}
