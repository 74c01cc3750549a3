package mimewalk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestWalkSQLStore walks messages into the real blob stores of both
// backends (SQLite files; PostgreSQL chunks when PARTNERMAIL_TEST_POSTGRES
// is set) and reads everything back.
func TestWalkSQLStore(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		blobs := sqlstore.OpenTest(t, driver).Blobs()
		w, err := mimewalk.New(mimewalk.Config{Blobs: blobs})
		if err != nil {
			t.Fatal(err)
		}
		pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("stream of a partner contract\n"), 40000)...) // ~1.2 MB
		png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 3000)...)
		msg := "From: pat@partner.example\r\nSubject: contract\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nSigned contract attached.\r\n" +
			part("contract.pdf", pdf) + part("stamp.png", png) + "--x--\r\n"

		res, err := w.Walk(ctx, strings.NewReader(msg))
		if err != nil {
			t.Fatalf("Walk = %v", err)
		}
		if got := read(t, blobs, res.RawKey); got != msg {
			t.Errorf("raw blob is not byte-exact (%d vs %d bytes)", len(got), len(msg))
		}
		want := [][]byte{pdf, png}
		if len(res.Attachments) != 2 {
			t.Fatalf("Attachments = %+v", res.Attachments)
		}
		for i, a := range res.Attachments {
			if got := read(t, blobs, a.BlobKey); got != string(want[i]) || a.Size != int64(len(want[i])) {
				t.Errorf("attachment %q: blob of %d bytes, Size %d, want %d", a.Filename, len(got), a.Size, len(want[i]))
			}
		}
		if err := w.Discard(ctx, res); err != nil {
			t.Fatalf("Discard = %v", err)
		}
		if _, err := blobs.Open(ctx, res.RawKey); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Open after Discard = %v, want ErrNotFound", err)
		}

		exe := append([]byte("MZ"), make([]byte, 510)...)
		exe[0x3c] = 0x80
		copy(exe[0x80:], "PE\x00\x00\x4c\x01")
		bad := strings.Replace(msg, "--x--\r\n", part("setup.pdf", exe)+"--x--\r\n", 1)
		res, err = w.Walk(ctx, strings.NewReader(bad))
		if _, _, text, ok := mimewalk.SMTPStatus(err); !ok || !strings.Contains(text, `"setup.pdf"`) {
			t.Errorf("Walk(exe) = %v, want a policy error naming setup.pdf", err)
		}
		if res.RawKey != "" || len(res.Attachments) != 0 {
			t.Errorf("failed walk still refers to blobs: %+v", res)
		}
	})
}

func part(name string, data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString("--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"" + name +
		"\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.String()
}

func read(t *testing.T, blobs storage.BlobStore, key string) string {
	t.Helper()
	b, err := blobs.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q) = %v", key, err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
