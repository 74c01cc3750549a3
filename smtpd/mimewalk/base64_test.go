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
		{"long, LF only", strings.ReplaceAll(b64lines(long), "\r\n", "\n"), long},
		{"long, junk in the middle", b64lines(long[:30000]) + "*" + b64lines(long[30000:]), long},
		{"long, odd line", b64lines(long[:3000]) + "QUJD\r\nRA\r\n" + b64lines(long[3000:]), []byte(nil)},
	}
	for _, tt := range tests {
		if tt.want == nil && tt.in != "" {
			tt.want = refBase64(tt.in)
		}
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

// refBase64 is the leniency rule in its plainest form: keep the alphabet
// up to the first "=", decode the whole quanta, pad a last 2-3 characters.
func refBase64(in string) []byte {
	var keep []byte
	for i := 0; i < len(in) && in[i] != '='; i++ {
		if b64alphabet[in[i]] {
			keep = append(keep, in[i])
		}
	}
	switch len(keep) % 4 {
	case 1:
		keep = keep[:len(keep)-1]
	case 2, 3:
		keep = append(keep, "=="[:4-len(keep)%4]...)
	}
	out, err := base64.StdEncoding.DecodeString(string(keep))
	if err != nil {
		panic(err)
	}
	return out
}

// FuzzBase64 checks the buffered decoder against refBase64, read through
// buffers of varying sizes.
func FuzzBase64(f *testing.F) {
	f.Add("aGVsbG8gd29ybGQ=", uint16(7))
	f.Add("aGVs\r\nbG8g*d29y\r\n!bGQ=\r\n", uint16(1))
	f.Add(b64lines(bytes.Repeat([]byte("partner data \x00\xff"), 300)), uint16(4096))
	f.Add("QUJD\nRA\nQUJDRA\r\n", uint16(3))
	f.Add(b64lines(bytes.Repeat([]byte("longer than the first chunk"), 1000)), uint16(100))
	f.Fuzz(func(t *testing.T, in string, size uint16) {
		want := refBase64(in)
		r := newBase64(strings.NewReader(in), nil)
		buf := make([]byte, int(size)%70000+1)
		var got []byte
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("decode(%q) with %d-byte reads = %x, want %x", in, len(buf), got, want)
		}
	})
}

// BenchmarkBase64 decodes 8 MB of data wrapped at 76 characters, through
// the 32 KiB reads the attachment copy makes.
func BenchmarkBase64(b *testing.B) {
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 131 >> 3)
	}
	in := b64lines(data)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r := newBase64(strings.NewReader(in), nil)
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
	}
}
