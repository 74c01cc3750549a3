package mimewalk

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLenientBase64(t *testing.T) {
	long := bytes.Repeat([]byte("partner data \x00\xff"), 3000)
	tests := []struct {
		name, in string
		want     []byte
	}{
		{"clean", "aGVsbG8gd29ybGQ=", []byte("hello world")},
		{"lines and junk", "aGVs\r\nbG8g*d29y\r\n!bGQ=\r\n", []byte("hello world")},
		{"missing padding 2", "aGVsbG8gd29ybGQ", []byte("hello world")},
		{"missing padding 1", "aGVsbG8gd29ybA", []byte("hello worl")},
		{"lone char dropped", "aGVsbG8gd", []byte("hello ")},
		{"data after padding ignored", "aGk=\r\nTUFMV0FSRQ==", []byte("hi")},
		{"empty", "", nil},
		{"only junk", "***\r\n", nil},
		{"long wrapped", b64lines(long), long},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(newBase64(r, nil))
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("decode(%s, oneByte=%v) = %d bytes %v, want %d bytes", tt.name, oneByte, len(got), err, len(tt.want))
			}
		}
	}
	// A read error of the part (truncated message) comes through.
	_, err := io.ReadAll(newBase64(iotest.TimeoutReader(strings.NewReader(base64.StdEncoding.EncodeToString(long))), nil))
	if err != iotest.ErrTimeout {
		t.Errorf("decode(failing reader) = %v, want its error", err)
	}
}
