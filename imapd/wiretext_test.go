package imapd

import (
	"mime"
	"strings"
	"testing"
	"time"
)

// TestAppendEnvelopeDate: the hand-written date is AppendFormat's, across
// zones, offsets of odd minutes, and single-digit fields.
func TestAppendEnvelopeDate(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("", -(3*3600 + 30*60)), time.FixedZone("", 5*3600+45*60), time.FixedZone("", -12*3600)}
	for _, base := range []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(12, 7, 9, 10, 11, 12, 0, time.UTC)} {
		for _, z := range zones {
			for d := range 7 {
				tm := base.AddDate(0, 0, d).In(z)
				if got, want := string(appendEnvelopeDate(nil, tm)), tm.Format(envelopeDateLayout); got != want {
					t.Errorf("%v: %q, want %q", tm, got, want)
				}
			}
		}
	}
}

// TestEncodeText: encodeText is mime.QEncoding.Encode for every byte.
func TestEncodeText(t *testing.T) {
	for c := range 256 {
		s := "a" + string([]byte{byte(c)}) + "b"
		if got, want := encodeText(s), mime.QEncoding.Encode("utf-8", s); got != want {
			t.Errorf("byte %#x: %q, want %q", c, got, want)
		}
	}
	for _, s := range []string{"", "plain", "Grüße", "tab\there", "quote\" and \\"} {
		if got, want := encodeText(s), mime.QEncoding.Encode("utf-8", s); got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
}

// TestNString: quoted where imapwire quotes, escaped, or a literal.
func TestNString(t *testing.T) {
	long := strings.Repeat("x", 4097)
	for _, c := range []struct {
		s    string
		utf8 bool
		want string
	}{
		{"", false, "NIL"},
		{"plain", false, `"plain"`},
		{`a"b\c`, false, `"a\"b\\c"`},
		{"a\r\nb", false, "{4}\r\na\r\nb"},
		{"nul\x00", true, "{4}\r\nnul\x00"},
		{"Grüße", false, "{7}\r\nGrüße"},
		{"Grüße", true, `"Grüße"`},
		{long, true, "{4097}\r\n" + long},
	} {
		w := &fetchWire{utf8: c.utf8}
		if got := string(w.nstring(nil, c.s, "", "")); got != c.want {
			t.Errorf("nstring(%q, utf8 %v) = %q, want %q", c.s, c.utf8, got, c.want)
		}
	}
}
