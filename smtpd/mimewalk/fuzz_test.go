package mimewalk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedMessages are written to testdata/ by TestWriteSeeds and used as the
// FuzzWalk corpus.
func seedMessages(t testing.TB) map[string]string {
	word := []byte{0x06, 0x09, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}
	return map[string]string{
		"plain.eml": stdHeader + "\r\nThanks, see you Monday.\r\n",
		"alternative.eml": stdHeader + "Content-Type: multipart/alternative; boundary=alt\r\n\r\n--alt\r\n" +
			"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n" +
			"--alt\r\nContent-Type: text/html\r\n\r\n<p>Gr&uuml;&szlig;e</p>\r\n--alt--\r\n",
		"attachments.eml": mixed(textPart, filePart("a.pdf", "application/pdf", pdfData(300)),
			filePart("b.jpg", "image/jpeg", jpegData(200)), filePart("c.doc", "application/msword", oleData(word, 0))),
		"winmail.eml": mixed(textPart, filePart("winmail.dat", "application/ms-tnef",
			tnefEncode(t, []tnefFile{{title: "REPORT~1.PDF", long: "report 2026.pdf", data: pdfData(100)}}))),
		"dsn.eml": stdHeader + "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n" +
			"--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\n" +
			"Final-Recipient: rfc822; a@b.example\r\nStatus: 5.1.1\r\n--r\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nx\r\n--r--\r\n",
		"exe.eml":       mixed(textPart, filePart("setup.pdf", "application/pdf", exeData())),
		"truncated.eml": mixed(textPart, filePart("a.pdf", "application/pdf", pdfData(3000)))[:1500],
		"nested.eml": stdHeader + "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n" +
			"Content-Type: multipart/related; boundary=i\r\n\r\n--i\r\nContent-Type: text/html\r\n\r\n<img src=cid:x>\r\n" +
			"--i\r\nContent-Type: image/gif\r\nContent-ID: <x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(gifData(40)) +
			"--i--\r\n--o--\r\n",
	}
}

// TestWriteSeeds regenerates testdata/*.eml: MIMEWALK_WRITE_SEEDS=1 go test -run TestWriteSeeds
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("MIMEWALK_WRITE_SEEDS") == "" {
		t.Skip("set MIMEWALK_WRITE_SEEDS=1 to rewrite testdata/")
	}
	for name, msg := range seedMessages(t) {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tn := tnefEncode(t, []tnefFile{{title: "A.PDF", long: "a long name.pdf", unicode: true, data: pdfData(50)}})
	if err := os.WriteFile(filepath.Join("testdata", "report.tnef"), tn, 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzWalk(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, msg := range seedMessages(f) {
		f.Add([]byte(msg))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		blobs := newFileBlobs(t)
		w, err := New(Config{Blobs: blobs, MaxTextBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		in := &drainCheck{r: strings.NewReader(string(data))}
		res, err := w.Walk(context.Background(), in)
		if !in.eof {
			t.Fatalf("Walk did not drain its input (err %v)", err)
		}
		if err != nil {
			var pe *PolicyError
			var fe *FormatError
			if !errors.As(err, &pe) && !errors.As(err, &fe) {
				t.Fatalf("Walk = %v: only policy and format errors are expected from bytes alone", err)
			}
			if blobs.committed() != 0 {
				t.Fatalf("failed walk left blobs")
			}
			return
		}
		if got := blobs.read(t, res.RawKey); string(got) != string(data) {
			t.Fatalf("raw blob differs from input")
		}
		if len(res.Attachments) > 10 || len(res.Text) > 4096 {
			t.Fatalf("limits broken: %d attachments, %d text bytes", len(res.Attachments), len(res.Text))
		}
	})
}
