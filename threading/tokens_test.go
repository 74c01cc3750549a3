package threading

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	testT0    = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	secretOld = []byte("old-secret-0123456789abcdef-0000")
	secretNew = []byte("new-secret-0123456789abcdef-1111")
)

func testTokens(t testing.TB, now *time.Time, keys ...Key) *Tokens {
	t.Helper()
	if len(keys) == 0 {
		keys = []Key{{ID: 7, Secret: secretNew}}
	}
	ts, err := NewTokens(keys, func() time.Time { return *now })
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return ts
}

func TestTokenRoundTrip(t *testing.T) {
	now := testT0
	ts := testTokens(t, &now)
	max := int64(MaxTokenID)
	tests := []Token{
		{Kind: KindReply, CompanyID: 1, ThreadID: 42, MemberID: 9},
		{Kind: KindCampaign, CompanyID: 3, CampaignID: 5, MemberID: 77},
		{Kind: KindBounce, CompanyID: 3, EmailID: 1 << 40, MemberID: 1<<40 + 1},
		{Kind: KindUnsubscribe, CompanyID: 0, MemberID: 0},
		{Kind: KindThread, CompanyID: 12, ThreadID: 123456789},
		{Kind: KindReply, CompanyID: max, ThreadID: max, MemberID: max},
		{Kind: KindCampaign, CompanyID: max, CampaignID: max, MemberID: max},
		{Kind: KindBounce, CompanyID: max, EmailID: max, MemberID: max},
		{Kind: KindUnsubscribe, CompanyID: max, MemberID: max},
		{Kind: KindThread, CompanyID: max, ThreadID: max},
	}
	for _, want := range tests {
		tok, err := ts.Mint(want)
		if err != nil {
			t.Fatalf("Mint(%+v): %v", want, err)
		}
		if tok != strings.ToLower(tok) {
			t.Errorf("Mint(%+v) = %q, not lower case", want, tok)
		}
		if lp := want.Kind.String() + "+" + tok; len(lp) > 64 {
			t.Errorf("local part %q is %d octets, want <= 64", lp, len(lp))
		}
		want.KeyID = 7
		for _, in := range []string{tok, strings.ToUpper(tok)} {
			got, err := ts.Verify(want.Kind, want.CompanyID, in)
			if err != nil || got != want {
				t.Errorf("Verify(%v, %d, %q) = %+v, %v, want %+v", want.Kind, want.CompanyID, in, got, err, want)
			}
		}
	}
}

// TestTokenMaxLength checks the longest local part for ids near 2^40 and
// at the maximum.
func TestTokenMaxLength(t *testing.T) {
	now := testT0
	ts := testTokens(t, &now)
	for _, id := range []int64{1<<40 - 1, 1 << 40, MaxTokenID} {
		for _, k := range []Kind{KindReply, KindCampaign, KindBounce, KindUnsubscribe, KindThread} {
			tok, err := ts.Mint(Token{Kind: k, CompanyID: id, ThreadID: id, MemberID: id, CampaignID: id, EmailID: id})
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			addr := Address(k, tok, "partners.acme.example")
			lp, _, _ := SplitAddress(addr)
			if len(lp) > 64 {
				t.Errorf("Address(%v, id %d) local part = %q (%d octets), want <= 64", k, id, lp, len(lp))
			}
		}
	}
	for _, id := range []int64{-1, MaxTokenID + 1, 1<<63 - 1} {
		_, err := ts.Mint(Token{Kind: KindReply, CompanyID: 1, ThreadID: id, MemberID: 1})
		if !errors.Is(err, ErrIDRange) {
			t.Errorf("Mint(thread %d) error = %v, want ErrIDRange", id, err)
		}
	}
	if _, err := ts.Mint(Token{Kind: KindTeam, CompanyID: 1}); err == nil {
		t.Errorf("Mint(KindTeam) succeeded, want error")
	}
}

func TestTokenErrors(t *testing.T) {
	now := testT0
	ts := testTokens(t, &now)
	other := testTokens(t, &now, Key{ID: 7, Secret: secretOld})
	unknownKey := testTokens(t, &now, Key{ID: 8, Secret: secretNew})
	good, err := ts.Mint(Token{Kind: KindReply, CompanyID: 1, ThreadID: 2, MemberID: 3})
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Mint(Token{Kind: KindReply, CompanyID: 1, ThreadID: 2, MemberID: 3})
	// Flip one character of the MAC (the last characters).
	flipped := []byte(good)
	if flipped[len(flipped)-2] == 'a' {
		flipped[len(flipped)-2] = 'b'
	} else {
		flipped[len(flipped)-2] = 'a'
	}
	tests := []struct {
		kind    Kind
		company int64
		token   string
		want    error
	}{
		{KindReply, 1, good, nil},
		{KindCampaign, 1, good, ErrWrongKind},
		{KindReply, 2, good, ErrWrongCompany},
		{KindReply, 1, forged, ErrBadMAC},
		{KindReply, 1, string(flipped), ErrBadMAC},
		{KindReply, 1, "", ErrMalformedToken},
		{KindReply, 1, "not-base32!", ErrMalformedToken},
		{KindReply, 1, "aaaa", ErrMalformedToken},
		{KindReply, 1, strings.Repeat("a", 65), ErrMalformedToken},
		{KindReply, 1, good + "a", ErrMalformedToken},
		{KindReply, 1, good[:len(good)-1], ErrMalformedToken},
		{KindReply, 1, strings.Replace(strings.ToUpper(good), "K", "\u212a", 1), ErrMalformedToken},
	}
	for _, tt := range tests {
		_, err := ts.Verify(tt.kind, tt.company, tt.token)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Verify(%v, %d, %q) error = %v, want %v", tt.kind, tt.company, tt.token, err, tt.want)
		}
	}
	if _, err := unknownKey.Parse(good); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Parse(%q) with other key id: error = %v, want ErrUnknownKey", good, err)
	}
}

func TestTokenKeyRotation(t *testing.T) {
	now := testT0
	oldOnly := testTokens(t, &now, Key{ID: 1, Secret: secretOld})
	oldTok, err := oldOnly.Mint(Token{Kind: KindThread, CompanyID: 4, ThreadID: 5})
	if err != nil {
		t.Fatal(err)
	}
	rotated := testTokens(t, &now,
		Key{ID: 2, Secret: secretNew},
		Key{ID: 1, Secret: secretOld, NotAfter: testT0.Add(30 * 24 * time.Hour)},
	)
	newTok, err := rotated.Mint(Token{Kind: KindThread, CompanyID: 4, ThreadID: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Parse(newTok); err != nil || got.KeyID != 2 {
		t.Errorf("Parse(new token) = %+v, %v, want key 2", got, err)
	}
	if got, err := rotated.Parse(oldTok); err != nil || got.KeyID != 1 || got.ThreadID != 5 {
		t.Errorf("Parse(old token) before NotAfter = %+v, %v, want key 1 thread 5", got, err)
	}
	now = testT0.Add(31 * 24 * time.Hour)
	if _, err := rotated.Parse(oldTok); !errors.Is(err, ErrKeyExpired) {
		t.Errorf("Parse(old token) after NotAfter error = %v, want ErrKeyExpired", err)
	}
	if _, err := rotated.Parse(newTok); err != nil {
		t.Errorf("Parse(new token) after old key expired: %v", err)
	}
	// An expired first key no longer mints: the next valid one does.
	now = testT0
	soon := testTokens(t, &now,
		Key{ID: 3, Secret: secretNew, NotAfter: testT0.Add(-time.Second)},
		Key{ID: 4, Secret: secretOld},
	)
	tok, _ := soon.Mint(Token{Kind: KindThread, CompanyID: 1, ThreadID: 1})
	if got, err := soon.Parse(tok); err != nil || got.KeyID != 4 {
		t.Errorf("Parse(token minted past first key) = %+v, %v, want key 4", got, err)
	}
}

func TestNewTokensErrors(t *testing.T) {
	tests := [][]Key{
		nil,
		{{ID: 1, Secret: []byte("short")}},
		{{ID: 1, Secret: secretNew}, {ID: 1, Secret: secretOld}},
	}
	for _, keys := range tests {
		if _, err := NewTokens(keys, nil); err == nil {
			t.Errorf("NewTokens(%d keys) succeeded, want error", len(keys))
		}
	}
}

func FuzzParseToken(f *testing.F) {
	now := testT0
	ts := testTokens(f, &now)
	for _, tok := range []Token{
		{Kind: KindReply, CompanyID: 1, ThreadID: 2, MemberID: 3},
		{Kind: KindCampaign, CompanyID: MaxTokenID, CampaignID: MaxTokenID, MemberID: MaxTokenID},
		{Kind: KindUnsubscribe, CompanyID: 9, MemberID: 1},
	} {
		s, _ := ts.Mint(tok)
		f.Add(s)
		f.Add(strings.ToUpper(s))
	}
	f.Add("")
	f.Add("aaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("ce======")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ts.Parse(s)
		if err != nil {
			return
		}
		// Anything that parses must round-trip to the same spelling.
		again, err := ts.Mint(tok)
		if err != nil {
			t.Fatalf("Mint(Parse(%q)) error %v", s, err)
		}
		if again != strings.ToLower(s) {
			t.Fatalf("Mint(Parse(%q)) = %q", s, again)
		}
	})
}
