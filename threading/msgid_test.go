package threading

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewMessageID("Partners.Acme.Example", testT0)
		if !strings.HasSuffix(id, "@partners.acme.example") {
			t.Fatalf("NewMessageID = %q, want domain suffix", id)
		}
		if got := ParseMessageIDList("<" + id + ">"); len(got) != 1 || got[0] != id {
			t.Fatalf("ParseMessageIDList(<%s>) = %q", id, got)
		}
		if seen[id] {
			t.Fatalf("NewMessageID repeated %q", id)
		}
		seen[id] = true
	}
	if id := NewMessageID("", testT0); !strings.HasSuffix(id, "@partnermail.invalid") {
		t.Errorf("NewMessageID(\"\") = %q", id)
	}
}

func TestParseMessageIDList(t *testing.T) {
	many := ""
	for i := range 60 {
		many += fmt.Sprintf(" <m%d@x>", i)
	}
	var last50 []string
	for i := 10; i < 60; i++ {
		last50 = append(last50, fmt.Sprintf("m%d@x", i))
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@b>", []string{"a@b"}},
		{" <a@b>\r\n\t<c@d> ", []string{"a@b", "c@d"}},
		{"<a@b>,<c@d>", []string{"a@b", "c@d"}},
		{"<a@b> (comment) <c@d>", []string{"a@b", "c@d"}},
		{`"John" <a@b>`, []string{"a@b"}},
		{"<a@b> <a@b>", []string{"a@b"}},
		{"< a@b >", []string{"a@b"}},
		{"a@b c@d", []string{"a@b", "c@d"}},
		{"a@b, c@d", []string{"a@b", "c@d"}},
		{"<a@b", []string{"a@b"}},
		{"<<a@b>>", []string{"a@b"}},
		{"<junk <a@b>", []string{"a@b"}},
		{"<no-at> <@x> <x@> <a b@c>", []string{}},
		{"", []string{}},
		{"<CAF=x+y/z@mail.gmail.com>", []string{"CAF=x+y/z@mail.gmail.com"}},
		{many, last50},
	}
	for _, tt := range tests {
		got := ParseMessageIDList(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMessageIDList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// finder is a ThreadFinder over a map, recording its calls.
type finder struct {
	threads map[string]int64
	err     error
	calls   [][]string
}

func (f *finder) ThreadByMessageID(ctx context.Context, companyID int64, ids []string) (storage.Thread, error) {
	f.calls = append(f.calls, ids)
	if f.err != nil {
		return storage.Thread{}, f.err
	}
	for _, id := range ids {
		if th, ok := f.threads[fmt.Sprint(companyID, "/", id)]; ok {
			return storage.Thread{ID: th, CompanyID: companyID}, nil
		}
	}
	return storage.Thread{}, storage.ErrNotFound
}

func TestResolve(t *testing.T) {
	f := &finder{threads: map[string]int64{
		"1/old@x":  10,
		"1/mid@x":  11,
		"1/irt@x":  12,
		"2/irt2@x": 20,
	}}
	ctx := context.Background()
	partners := Recipient{Kind: KindPartners}
	tests := []struct {
		name       string
		company    int64
		rcpt       Recipient
		irt, refs  string
		want       Resolution
		wantErr    error
		wantLookup int
	}{
		{"reply token wins over headers", 1, Recipient{Kind: KindReply, Token: Token{Kind: KindReply, ThreadID: 5, MemberID: 6}}, "<irt@x>", "", Resolution{Via: ViaToken, ThreadID: 5, MemberID: 6}, nil, 0},
		{"thread token", 1, Recipient{Kind: KindThread, Token: Token{Kind: KindThread, ThreadID: 7}}, "", "", Resolution{Via: ViaToken, ThreadID: 7}, nil, 0},
		{"campaign token", 1, Recipient{Kind: KindCampaign, Token: Token{Kind: KindCampaign, CampaignID: 3, MemberID: 4}}, "<irt@x>", "", Resolution{Via: ViaToken, CampaignID: 3, MemberID: 4}, nil, 0},
		{"in-reply-to", 1, partners, "<irt@x>", "<old@x> <mid@x>", Resolution{Via: ViaInReplyTo, ThreadID: 12}, nil, 1},
		{"references newest first", 1, partners, "<unknown@x>", "<old@x> <mid@x> <unknown@x>", Resolution{Via: ViaReferences, ThreadID: 11}, nil, 2},
		{"other company's ids do not match", 1, partners, "<irt2@x>", "", Resolution{Via: ViaNewThread}, nil, 1},
		{"new thread", 1, partners, "", "", Resolution{Via: ViaNewThread}, nil, 0},
		{"team compose", 1, Recipient{Kind: KindTeam}, "<irt@x>", "", Resolution{Via: ViaNewThread}, nil, 0},
		{"bounce", 1, Recipient{Kind: KindBounce}, "", "", Resolution{}, ErrNotThreaded, 0},
		{"unsubscribe", 1, Recipient{Kind: KindUnsubscribe}, "", "", Resolution{}, ErrNotThreaded, 0},
		{"not ours", 1, Recipient{Kind: KindNone}, "<irt@x>", "", Resolution{}, ErrNotThreaded, 0},
	}
	for _, tt := range tests {
		f.calls = nil
		got, err := Resolve(ctx, f, tt.company, tt.rcpt, tt.irt, tt.refs)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("%s: Resolve = %+v, %v, want %+v, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if len(f.calls) != tt.wantLookup {
			t.Errorf("%s: %d lookups %q, want %d", tt.name, len(f.calls), f.calls, tt.wantLookup)
		}
	}
	// References are looked up newest first, skipping In-Reply-To's ids.
	f.calls = nil
	Resolve(ctx, f, 1, partners, "<a@x>", "<b@x> <c@x> <a@x>")
	if want := [][]string{{"a@x"}, {"c@x", "b@x"}}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("lookups = %q, want %q", f.calls, want)
	}
	// A storage error is returned, never mistaken for "new thread".
	boom := errors.New("disk on fire")
	f.err = boom
	if _, err := Resolve(ctx, f, 1, partners, "<irt@x>", ""); !errors.Is(err, boom) {
		t.Errorf("Resolve with failing store error = %v, want %v", err, boom)
	}
}

func FuzzMessageIDList(f *testing.F) {
	for _, s := range []string{"<a@b>", "<a@b> <c@d>", "a@b c@d", "<<a@b>", "<a@b", "(c) <x@y>,\r\n <z@w>", "<@>", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := ParseMessageIDList(s)
		if len(ids) > MaxMessageIDs {
			t.Fatalf("ParseMessageIDList(%q) returned %d ids", s, len(ids))
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if cleanMessageID(id) != id || seen[id] {
				t.Fatalf("ParseMessageIDList(%q) = %q: bad or repeated id %q", s, ids, id)
			}
			seen[id] = true
		}
	})
}
