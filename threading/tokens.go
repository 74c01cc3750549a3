package threading

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by Tokens.Parse and Tokens.Verify. Each is distinct so
// that callers can log why a token was refused; all of them mean
// "550 5.1.1" to an SMTP client.
var (
	ErrMalformedToken = errors.New("threading: malformed token")
	ErrUnknownKey     = errors.New("threading: token signed with an unknown key")
	ErrKeyExpired     = errors.New("threading: token signed with an expired key")
	ErrBadMAC         = errors.New("threading: token signature mismatch")
	ErrWrongKind      = errors.New("threading: token is for another address kind")
	ErrWrongCompany   = errors.New("threading: token is for another company")
	ErrIDRange        = errors.New("threading: id out of token range")
)

const (
	tokenVersion = 1
	// macLen is the truncated HMAC-SHA256 length: 80 bits.
	macLen = 10
	// MaxTokenID is the largest id (company, thread, member, campaign,
	// email) a token can carry; with it the longest local part,
	// "unsubscribe+" or "campaign+" plus token, stays within 64 octets.
	MaxTokenID = 1<<49 - 1
	// maxTokenLen bounds what Parse looks at: the longest token minted is
	// 55 characters.
	maxTokenLen = 64
	// minSecretLen is the shortest secret New accepts.
	minSecretLen = 16
)

// tokenEncoding is base32 lower case without padding: it survives MTAs
// that fold the case of local parts, and needs no quoting.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Key is one token signing secret. Keys are rotated by adding a new key
// in front and giving the old one a NotAfter.
type Key struct {
	ID     uint8  // carried inside each token
	Secret []byte // at least 16 bytes, ideally 32 random bytes
	// NotAfter is when tokens signed with this key stop verifying; zero
	// means never.
	NotAfter time.Time
}

// Token is the data bound into an address token. Which ids are used
// depends on Kind:
//
//	KindReply        ThreadID, MemberID
//	KindCampaign     CampaignID, MemberID
//	KindBounce       EmailID (outbound email row), MemberID
//	KindUnsubscribe  MemberID
//	KindThread       ThreadID
//
// Unused ids are zero after Parse and ignored by Mint.
type Token struct {
	Kind       Kind
	CompanyID  int64
	ThreadID   int64
	MemberID   int64
	CampaignID int64
	EmailID    int64
	KeyID      uint8 // set by Parse: the key that signed it
}

// ids returns the ids Kind carries, in encoding order.
func (t Token) ids() ([]int64, error) {
	switch t.Kind {
	case KindReply:
		return []int64{t.ThreadID, t.MemberID}, nil
	case KindCampaign:
		return []int64{t.CampaignID, t.MemberID}, nil
	case KindBounce:
		return []int64{t.EmailID, t.MemberID}, nil
	case KindUnsubscribe:
		return []int64{t.MemberID}, nil
	case KindThread:
		return []int64{t.ThreadID}, nil
	}
	return nil, fmt.Errorf("threading: kind %v carries no token", t.Kind)
}

// setIDs is the inverse of ids.
func (t *Token) setIDs(v []int64) {
	switch t.Kind {
	case KindReply:
		t.ThreadID, t.MemberID = v[0], v[1]
	case KindCampaign:
		t.CampaignID, t.MemberID = v[0], v[1]
	case KindBounce:
		t.EmailID, t.MemberID = v[0], v[1]
	case KindUnsubscribe:
		t.MemberID = v[0]
	case KindThread:
		t.ThreadID = v[0]
	}
}

// Tokens mints and verifies address tokens. It is safe for concurrent use.
type Tokens struct {
	keys  []Key // keys[i].Secret are private copies
	clock func() time.Time
}

// NewTokens returns a Tokens using keys: the first key that has not
// expired mints, every key verifies until its NotAfter. clock may be nil
// (time.Now).
func NewTokens(keys []Key, clock func() time.Time) (*Tokens, error) {
	if len(keys) == 0 {
		return nil, errors.New("threading: no token keys")
	}
	if clock == nil {
		clock = time.Now
	}
	seen := make(map[uint8]bool, len(keys))
	ts := &Tokens{clock: clock, keys: make([]Key, len(keys))}
	for i, k := range keys {
		if len(k.Secret) < minSecretLen {
			return nil, fmt.Errorf("threading: token key %d: secret shorter than %d bytes", k.ID, minSecretLen)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("threading: token key id %d given twice", k.ID)
		}
		seen[k.ID] = true
		k.Secret = append([]byte(nil), k.Secret...)
		ts.keys[i] = k
	}
	return ts, nil
}

func (ts *Tokens) key(id uint8) (Key, bool) {
	for _, k := range ts.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

func expired(k Key, now time.Time) bool {
	return !k.NotAfter.IsZero() && now.After(k.NotAfter)
}

// Mint returns the token for t, signed with the current key. It fails
// for a kind without token, for negative ids or ids above MaxTokenID, and
// when every key has expired.
func (ts *Tokens) Mint(t Token) (string, error) {
	ids, err := t.ids()
	if err != nil {
		return "", err
	}
	now := ts.clock()
	var key Key
	found := false
	for _, k := range ts.keys {
		if !expired(k, now) {
			key, found = k, true
			break
		}
	}
	if !found {
		return "", errors.New("threading: every token key has expired")
	}
	buf := make([]byte, 0, 2+4*binary.MaxVarintLen64+macLen)
	buf = append(buf, tokenVersion<<4|byte(t.Kind), key.ID)
	for _, id := range append([]int64{t.CompanyID}, ids...) {
		if id < 0 || id > MaxTokenID {
			return "", fmt.Errorf("mint %v token: %w: %d", t.Kind, ErrIDRange, id)
		}
		buf = binary.AppendUvarint(buf, uint64(id))
	}
	buf = append(buf, mac(key.Secret, buf)...)
	return tokenEncoding.EncodeToString(buf), nil
}

// MintAddress returns the full address, kind prefix + token @ domain.
func (ts *Tokens) MintAddress(t Token, domain string) (string, error) {
	tok, err := ts.Mint(t)
	if err != nil {
		return "", err
	}
	return Address(t.Kind, tok, domain), nil
}

// mac is the truncated HMAC-SHA256 of msg, which covers the version and
// kind byte, the key id, the company id and the payload.
func mac(secret, msg []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("partnermail token\x00"))
	h.Write(msg)
	return h.Sum(nil)[:macLen]
}

// Parse decodes and authenticates a token, in any letter case. Errors
// wrap ErrMalformedToken, ErrUnknownKey, ErrKeyExpired or ErrBadMAC.
// Parse does not know which address or domain the token came with: use
// Verify for that.
func (ts *Tokens) Parse(token string) (Token, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return Token{}, fmt.Errorf("%w: length %d", ErrMalformedToken, len(token))
	}
	for i := 0; i < len(token); i++ {
		if token[i] >= 0x80 {
			return Token{}, fmt.Errorf("%w: non-ASCII", ErrMalformedToken)
		}
	}
	lower := strings.ToLower(token)
	raw, err := tokenEncoding.DecodeString(lower)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	// base32 tolerates non-zero trailing bits: allow one spelling only.
	if tokenEncoding.EncodeToString(raw) != lower {
		return Token{}, fmt.Errorf("%w: non-canonical encoding", ErrMalformedToken)
	}
	if len(raw) < 2+2+macLen {
		return Token{}, fmt.Errorf("%w: too short", ErrMalformedToken)
	}
	if raw[0]>>4 != tokenVersion {
		return Token{}, fmt.Errorf("%w: version %d", ErrMalformedToken, raw[0]>>4)
	}
	t := Token{Kind: Kind(raw[0] & 0x0f), KeyID: raw[1]}
	if !t.Kind.HasToken() {
		return Token{}, fmt.Errorf("%w: kind %d", ErrMalformedToken, t.Kind)
	}
	key, ok := ts.key(t.KeyID)
	if !ok {
		return Token{}, fmt.Errorf("%w: key id %d", ErrUnknownKey, t.KeyID)
	}
	if expired(key, ts.clock()) {
		return Token{}, fmt.Errorf("%w: key id %d", ErrKeyExpired, t.KeyID)
	}
	body, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(sum, mac(key.Secret, body)) {
		return Token{}, ErrBadMAC
	}
	// Authentic: only we could have encoded it, but decode defensively.
	ids, _ := t.ids()
	vals := make([]int64, 0, 1+len(ids))
	rest := body[2:]
	for range 1 + len(ids) {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > MaxTokenID {
			return Token{}, fmt.Errorf("%w: bad id", ErrMalformedToken)
		}
		vals = append(vals, int64(v))
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return Token{}, fmt.Errorf("%w: trailing bytes", ErrMalformedToken)
	}
	t.CompanyID = vals[0]
	t.setIDs(vals[1:])
	return t, nil
}

// Verify parses token and checks that it was minted for kind (the
// address prefix it came with) and for companyID (the company owning the
// domain it was sent to). Errors wrap the Parse errors, ErrWrongKind or
// ErrWrongCompany.
func (ts *Tokens) Verify(kind Kind, companyID int64, token string) (Token, error) {
	t, err := ts.Parse(token)
	if err != nil {
		return Token{}, err
	}
	if t.Kind != kind {
		return Token{}, fmt.Errorf("%w: %v token at a %v address", ErrWrongKind, t.Kind, kind)
	}
	if t.CompanyID != companyID {
		return Token{}, fmt.Errorf("%w: minted for company %d, received for company %d", ErrWrongCompany, t.CompanyID, companyID)
	}
	return t, nil
}
