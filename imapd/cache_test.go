package imapd

import (
	"reflect"
	"strings"
	"testing"
)

// TestDecodeLight: what encode writes decodes to what was encoded (as
// encode cleans it), and other text is refused.
func TestDecodeLight(t *testing.T) {
	for _, m := range envelopeMessages {
		l, err := computeLight(strings.NewReader(m), true, "partnermail")
		if err != nil {
			t.Fatal(err)
		}
		text := l.encode()
		got, ok := decodeLight(text)
		if !ok {
			t.Fatalf("decodeLight(%q) refused", text)
		}
		if again := got.encode(); again != text {
			t.Errorf("decodeLight(%q).encode() = %q", text, again)
		}
		want := *l.Env
		want.Subject = clean(want.Subject)
		_, off1 := got.Env.Date.Zone()
		_, off2 := want.Date.Zone()
		if got.Env.Date.Equal(want.Date) && off1 == off2 {
			want.Date = got.Env.Date // the zone's name is not kept, only its offset
		}
		if !strings.Contains(m, "\xff") && !reflect.DeepEqual(*got.Env, want) {
			t.Errorf("decodeLight(%q).Env = %+v, want %+v", text, *got.Env, want)
		}
	}
	valid := "1\x1f10\x1f0\x1f\x1fs\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f"
	for _, bad := range []string{"", "1", valid + "\x1fextra", strings.Replace(valid, "1", "2", 1),
		strings.Replace(valid, "10", "x", 1), strings.TrimSuffix(valid, "\x1f")} {
		if _, ok := decodeLight(bad); ok {
			t.Errorf("decodeLight(%q) accepted", bad)
		}
	}
	if _, ok := decodeLight(valid); !ok {
		t.Errorf("decodeLight(%q) refused", valid)
	}
	// A list whose items all lack parts is empty, not nil (ENVELOPE
	// then shows NIL for it instead of falling back to From).
	l, _ := decodeLight(strings.Replace(valid, "\x1fs\x1f\x1f", "\x1fs\x1f\x1fjunk", 1))
	if l.Env.Sender == nil || len(l.Env.Sender) != 0 {
		t.Errorf("Sender of junk = %#v, want empty", l.Env.Sender)
	}
}
