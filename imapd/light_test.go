package imapd

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestBytesLight: the in-memory header parse gives what the streaming
// one gives, for every golden message and for odd line endings.
func TestBytesLight(t *testing.T) {
	msgs := append([]string{
		"",
		"\r\n",
		"\n\nbody",
		"Subject: lf only\nFrom: a@b.example\n\nbody\n",
		"Subject: no end",
		"Subject: " + strings.Repeat("x", 70000) + "\r\n\r\nlonger than the reader's buffer",
		"Subject: x\r\nAuthentication-Results: partnermail; dmarc=pass\r\n\r\nbody",
	}, envelopeMessages...)
	for _, m := range msgs {
		for _, strip := range []bool{false, true} {
			want, err := computeLight(strings.NewReader(m), strip, "partnermail")
			if err != nil {
				t.Fatal(err)
			}
			data := []byte(m)
			got, err := bytesLight(data, strip, "partnermail")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("bytesLight(%.40q, %v) = %+v, want %+v", m, strip, got, want)
			}
			if !bytes.Equal(data, []byte(m)) {
				t.Errorf("bytesLight(%.40q) changed its input", m)
			}
		}
	}
}

// TestEnvelopeColdBatches: the first FETCH 1:* (ENVELOPE) of a folder
// parses its messages over several blob batches (readBatch) and gives
// each message its own envelope.
func TestEnvelopeColdBatches(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver, noWarmer)
		n := 2*readBatch + 3
		for i := 0; i < n; i++ {
			e.deliver(e.f, e.f.Acme, e.f.Ann, fmt.Sprintf("cold %d", i), "body")
		}
		c := e.login(e.f.Admin.Email, nil)
		selectBox(t, c, "INBOX")
		envs := envelopes(t, c, &imap.FetchOptions{Envelope: true})
		if len(envs) != n {
			t.Fatalf("FETCH 1:* (ENVELOPE) gave %d envelopes, want %d", len(envs), n)
		}
		for i, env := range envs {
			if want := fmt.Sprintf("cold %d", i); env.Subject != want {
				t.Errorf("envelope %d: Subject = %q, want %q", i+1, env.Subject, want)
			}
		}
	})
}
