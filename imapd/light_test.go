package imapd

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
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
