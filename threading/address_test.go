package threading

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		local, partner string
		kind           Kind
		value          string
	}{
		{"reply+abc234", "", KindReply, "abc234"},
		{"REPLY+ABC234", "", KindReply, "abc234"},
		{"Campaign+xyz", "", KindCampaign, "xyz"},
		{"bounce+q", "", KindBounce, "q"},
		{"unsubscribe+q", "", KindUnsubscribe, "q"},
		{"thread+q", "", KindThread, "q"},
		{"team+Acme-Resellers", "", KindTeam, "acme-resellers"},
		{"partners", "", KindPartners, ""},
		{"PARTNERS", "", KindPartners, ""},
		{"partner", "", KindNone, ""},
		{"hello", "hello", KindPartners, ""},
		{"partners", "hello", KindNone, ""},
		{`"reply+abc"`, "", KindReply, "abc"},
		{`"partners"`, "", KindPartners, ""},
		{"reply+", "", KindNone, ""},
		{"reply", "", KindNone, ""},
		{"+abc", "", KindNone, ""},
		{"replyx+abc", "", KindNone, ""},
		{"partners+abc", "", KindNone, ""},
		{"john.doe", "", KindNone, ""},
		{"", "", KindNone, ""},
		{"reply+a+b", "", KindReply, "a+b"},
	}
	for _, tt := range tests {
		kind, value := ParseAddress(tt.local, tt.partner)
		if kind != tt.kind || value != tt.value {
			t.Errorf("ParseAddress(%q, %q) = %v, %q, want %v, %q", tt.local, tt.partner, kind, value, tt.kind, tt.value)
		}
	}
}

func TestAddress(t *testing.T) {
	tests := []struct {
		kind        Kind
		value, want string
	}{
		{KindReply, "abc", "reply+abc@d.example"},
		{KindTeam, "acme", "team+acme@d.example"},
		{KindPartners, "", "partners@d.example"},
		{KindPartners, "hello", "hello@d.example"},
		{KindNone, "x", ""},
	}
	for _, tt := range tests {
		if got := Address(tt.kind, tt.value, "d.example"); got != tt.want {
			t.Errorf("Address(%v, %q) = %q, want %q", tt.kind, tt.value, got, tt.want)
		}
	}
}

func TestSplitAddress(t *testing.T) {
	tests := []struct {
		in, local, domain string
		ok                bool
	}{
		{"reply+x@Partners.Acme.Example", "reply+x", "partners.acme.example", true},
		{"<a@b>", "a", "b", true},
		{`"a@b"@c`, `"a@b"`, "c", true},
		{"nodomain", "", "", false},
		{"@b", "", "", false},
		{"a@", "", "", false},
	}
	for _, tt := range tests {
		l, d, ok := SplitAddress(tt.in)
		if l != tt.local || d != tt.domain || ok != tt.ok {
			t.Errorf("SplitAddress(%q) = %q, %q, %v, want %q, %q, %v", tt.in, l, d, ok, tt.local, tt.domain, tt.ok)
		}
	}
}

func TestKindString(t *testing.T) {
	if got := Kind(99).String(); got != "kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
	for _, k := range prefixedKinds {
		if kk, _ := ParseAddress(k.String()+"+v", ""); kk != k {
			t.Errorf("ParseAddress(%q) = %v, want %v", k.String()+"+v", kk, k)
		}
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"reply+abc", "team+x", "partners", `"reply+a\"b"`, `"`, `""`, "+", "Thread+Z"} {
		f.Add(s, "")
	}
	f.Add("hello", "hello")
	f.Fuzz(func(t *testing.T, local, partner string) {
		kind, value := ParseAddress(local, partner)
		if kind.HasToken() || kind == KindTeam {
			if value == "" || value != strings.ToLower(value) {
				t.Fatalf("ParseAddress(%q, %q) = %v, %q", local, partner, kind, value)
			}
		} else if value != "" {
			t.Fatalf("ParseAddress(%q, %q) = %v, %q: value without prefix kind", local, partner, kind, value)
		}
	})
}
