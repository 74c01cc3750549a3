package imapd

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// sameEnvelope checks that cachedEnvelope writes, for the cached text
// enc, what fetchWire.envelope writes for decodeLight's envelope with
// reply as Reply-To (msgInfo.envelope), and refuses what decodeLight
// refuses.
func sameEnvelope(t *testing.T, enc string) {
	t.Helper()
	l, ok := decodeLight(enc)
	for _, utf8 := range []bool{false, true} {
		for _, reply := range []string{"", "thread+abc@partners.acme.example"} {
			w := &fetchWire{utf8: utf8}
			got, gotOK := w.cachedEnvelope([]byte("x"), enc, reply)
			if gotOK != ok {
				t.Fatalf("cachedEnvelope(%q) ok = %v, decodeLight's %v", enc, gotOK, ok)
			}
			if !ok {
				if string(got) != "x" {
					t.Fatalf("cachedEnvelope(%q) refused but wrote %q", enc, got)
				}
				continue
			}
			mi := &msgInfo{li: l, virtual: true, sess: &session{srv: &Server{}}}
			e := mi.envelope(nil)
			if reply != "" {
				local, host, _ := strings.Cut(reply, "@")
				e.ReplyTo = []imap.Address{{Mailbox: local, Host: host}}
			}
			want := w.envelope([]byte("x"), e)
			if string(got) != string(want) {
				t.Fatalf("cachedEnvelope(%q, utf8 %v, reply %q):\n got %q\nwant %q", enc, utf8, reply, got, want)
			}
		}
	}
}

// TestCachedEnvelope: the envelopes of envelopeMessages, and cached
// texts with odd lists, empty fields and wrong forms.
func TestCachedEnvelope(t *testing.T) {
	for _, m := range envelopeMessages {
		l, err := computeLight(strings.NewReader(m), true, "partnermail")
		if err != nil {
			t.Fatal(err)
		}
		sameEnvelope(t, l.encode())
	}
	for _, enc := range cachedSeeds() {
		sameEnvelope(t, enc)
	}
}

// cachedSeeds are cached texts beyond what encode writes.
func cachedSeeds() []string {
	valid := "1\x1f10\x1f0\x1f\x1fs\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f"
	return []string{"", "1", valid, valid + "\x1fextra", strings.Replace(valid, "1", "2", 1),
		strings.Replace(valid, "10", "x", 1), strings.TrimSuffix(valid, "\x1f"),
		strings.Replace(valid, "\x1fs\x1f\x1f", "\x1fs\x1f\x1fjunk", 1),
		strings.Replace(valid, "\x1fs\x1f", "\x1fs\x1fA\x1da\x1dx\x1ejunk\x1e\x1db\x1dy\x1f", 1),
		strings.Replace(valid, "\x1f\x1fs", "\x1f1700000000,-37800\x1f\"q\" \\", 1),
		strings.Replace(valid, "\x1f\x1fs", "\x1fnot,a date\x1fs", 1),
		strings.Replace(valid, "\x1f\x1fs", "\x1f99999999999999,0\x1fs", 1),
		strings.Replace(valid, "\x1f\x1fs", "\x1f-62135596801,3600\x1fs", 1),
		strings.Replace(valid, "\x1f\x1fs", "\x1f1700000000,9223372036854775807\x1fs", 1),
		strings.Replace(valid, "\x1f\x1fs", "\x1f253402300799,7200\x1fs", 1),
		valid[:len(valid)-2] + "a\x1eb\x1e\x1fid\r\n",
	}
}

// FuzzCachedEnvelope: for any text, cachedEnvelope agrees with
// decodeLight and fetchWire.envelope.
func FuzzCachedEnvelope(f *testing.F) {
	for _, m := range envelopeMessages {
		if l, err := computeLight(strings.NewReader(m), true, "partnermail"); err == nil {
			f.Add(l.encode())
		}
	}
	for _, enc := range cachedSeeds() {
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		sameEnvelope(t, enc)
	})
}
