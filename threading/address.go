package threading

import (
	"strconv"
	"strings"
)

// Kind is the kind of a gateway address (SPEC.md "Mail addresses").
type Kind uint8

// Address kinds. The values of the token kinds are part of the token
// encoding and must not change.
const (
	KindNone        Kind = 0 // not a gateway address
	KindReply       Kind = 1 // reply+TOKEN: partner reply to a notification
	KindCampaign    Kind = 2 // campaign+TOKEN: partner reply to a campaign
	KindBounce      Kind = 3 // bounce+TOKEN: VERP envelope sender, receives DSNs
	KindUnsubscribe Kind = 4 // unsubscribe+TOKEN: List-Unsubscribe mailto
	KindThread      Kind = 5 // thread+TOKEN: staff reply over submission
	KindTeam        Kind = 6 // team+SLUG: staff compose to a whole team
	KindPartners    Kind = 7 // the general partner address, partners@D by default
)

// DefaultPartnerLocalPart is the local part of the general partner
// address when none is configured.
const DefaultPartnerLocalPart = "partners"

var kindNames = [...]string{
	KindNone:        "none",
	KindReply:       "reply",
	KindCampaign:    "campaign",
	KindBounce:      "bounce",
	KindUnsubscribe: "unsubscribe",
	KindThread:      "thread",
	KindTeam:        "team",
	KindPartners:    "partners",
}

// String returns the kind's name, which is also its address prefix for
// the prefixed kinds.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// HasToken reports whether addresses of this kind carry a token.
func (k Kind) HasToken() bool {
	return k >= KindReply && k <= KindThread
}

// prefixedKinds are the kinds whose local part is "name+VALUE".
var prefixedKinds = []Kind{KindReply, KindCampaign, KindBounce, KindUnsubscribe, KindThread, KindTeam}

// ParseAddress classifies the local part of a recipient address. It
// returns the kind and, for prefixed kinds, the value after the "+"
// (a token, or the team slug) in lower case. partnerLocalPart is the
// configured general partner local part; "" means
// DefaultPartnerLocalPart. Prefixes are matched without regard to case;
// a local part in double quotes is unquoted first. Anything else, and a
// prefix with nothing after the "+", is KindNone.
//
// ParseAddress does not check the token: see Tokens.Verify.
func ParseAddress(localPart, partnerLocalPart string) (Kind, string) {
	if partnerLocalPart == "" {
		partnerLocalPart = DefaultPartnerLocalPart
	}
	lp := unquoteLocalPart(localPart)
	if strings.EqualFold(lp, partnerLocalPart) {
		return KindPartners, ""
	}
	name, value, ok := strings.Cut(lp, "+")
	if !ok || value == "" {
		return KindNone, ""
	}
	for _, k := range prefixedKinds {
		if strings.EqualFold(name, k.String()) {
			return k, strings.ToLower(value)
		}
	}
	return KindNone, ""
}

// unquoteLocalPart removes the quotes of a quoted-string local part
// (RFC 5321 section 4.1.2), undoing backslash escapes.
func unquoteLocalPart(lp string) string {
	if len(lp) < 2 || lp[0] != '"' || lp[len(lp)-1] != '"' {
		return lp
	}
	var b strings.Builder
	in := lp[1 : len(lp)-1]
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' && i+1 < len(in) {
			i++
		}
		b.WriteByte(in[i])
	}
	return b.String()
}

// SplitAddress splits an address into its local part and its domain in
// lower case, at the last "@". ok is false when either is empty.
func SplitAddress(addr string) (localPart, domain string, ok bool) {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimPrefix(addr, "<")
	addr = strings.TrimSuffix(addr, ">")
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], strings.ToLower(addr[i+1:]), true
}

// Address returns the gateway address of kind at domain. value is the
// token for the token kinds and the slug for KindTeam; for KindPartners it
// is the configured partner local part ("" for the default). KindNone
// returns "".
func Address(kind Kind, value, domain string) string {
	switch {
	case kind == KindPartners:
		if value == "" {
			value = DefaultPartnerLocalPart
		}
		return value + "@" + domain
	case kind.HasToken() || kind == KindTeam:
		return kind.String() + "+" + value + "@" + domain
	}
	return ""
}
