package mimewalk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func newTestWalker(t testing.TB) (*Walker, *fileBlobs) {
	t.Helper()
	blobs := newFileBlobs(t)
	w, err := New(Config{Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	return w, blobs
}

// walkMsg walks msg and checks the invariants every walk must keep: the
// input is read to its end, the raw blob is byte-exact on success, and no
// blob survives a failure.
func walkMsg(t *testing.T, msg string) (*Result, error, *fileBlobs) {
	t.Helper()
	w, blobs := newTestWalker(t)
	in := &drainCheck{r: strings.NewReader(msg)}
	res, err := w.Walk(context.Background(), in)
	if res == nil {
		t.Fatalf("Walk returned a nil Result (err %v)", err)
	}
	if !in.eof {
		t.Errorf("Walk did not read the message to its end")
	}
	if err != nil {
		if n := blobs.committed(); n != 0 {
			t.Errorf("Walk failed (%v) but left %d committed blobs", err, n)
		}
		return res, err, blobs
	}
	if got := blobs.read(t, res.RawKey); string(got) != msg {
		t.Errorf("raw blob differs from the message (%d vs %d bytes)", len(got), len(msg))
	}
	if res.RawSize != int64(len(msg)) {
		t.Errorf("RawSize = %d, want %d", res.RawSize, len(msg))
	}
	return res, nil, blobs
}

func TestWalkBodies(t *testing.T) {
	tests := []struct {
		name      string
		msg       string
		text      string // substring expected in Text ("" = Text must be empty)
		html      string
		defect    string
		truncated bool
	}{
		{name: "plain", msg: stdHeader + "\r\nHi there,\r\nthanks!\r\n", text: "Hi there,\r\nthanks!"},
		{name: "alternative", text: "plain version", html: "<p>html version</p>", msg: stdHeader +
			"Content-Type: multipart/alternative; boundary=alt\r\n\r\n--alt\r\nContent-Type: text/plain\r\n\r\nplain version\r\n" +
			"--alt\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n--alt--\r\n"},
		{name: "html only", html: "<b>only html</b>", msg: stdHeader +
			"Content-Type: text/html; charset=utf-8\r\n\r\n<b>only html</b>\r\n"},
		{name: "quoted-printable latin1", text: "Grüße aus München", msg: stdHeader +
			"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus M=FCnchen\r\n"},
		{name: "unknown charset", text: "caf", defect: "unknown charset", msg: stdHeader +
			"Content-Type: text/plain; charset=x-klingon-7\r\n\r\ncaf\xe9\r\n"},
		{name: "base64 text with junk", text: "hello world", msg: stdHeader +
			"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs*bG8g\r\nd29y!bGQ\r\n"},
		{name: "base64 lone character", text: "hello", defect: "lone character", msg: stdHeader +
			"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nZ\r\n"},
		{name: "base64 missing padding", text: "hello", msg: stdHeader +
			"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8\r\n"},
		{name: "long header line", text: "body", msg: "Subject: " + strings.Repeat("x", 10000) + "\r\n" +
			"X-Long: " + strings.Repeat("y ", 5000) + "\r\n" + stdHeader + "\r\nbody\r\n"},
		{name: "long part header line", text: "body", msg: stdHeader +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; x=\"" + strings.Repeat("z", 10000) +
			"\"\r\n\r\nbody\r\n--b--\r\n"},
		{name: "missing closing boundary", text: "first", defect: "closing boundary", msg: stdHeader +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"},
		{name: "truncated in header", msg: "From: a@b.example\r\nSubject: cut"},
		{name: "multipart without boundary", text: "--x", defect: "without boundary", msg: stdHeader +
			"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: application/octet-stream\r\n\r\nMZ\r\n--x--\r\n"},
		{name: "two inline text parts", text: "part one\npart two", msg: mixed(
			"Content-Type: text/plain\r\n\r\npart one\r\n",
			"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"+b64lines(pngData(50)),
			"Content-Type: text/plain\r\n\r\npart two\r\n")},
		{name: "text cap", truncated: true, text: "aaaa", msg: stdHeader + "\r\n" + strings.Repeat("a", 1<<20+10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err, _ := walkMsg(t, tt.msg)
			if err != nil {
				t.Fatalf("Walk = %v, want success", err)
			}
			if tt.text == "" && res.Text != "" && !strings.Contains(tt.msg, "text/plain") && tt.html != "" {
				t.Errorf("Text = %q, want empty", res.Text)
			}
			if !strings.Contains(res.Text, tt.text) {
				t.Errorf("Text = %.200q, want it to contain %q", res.Text, tt.text)
			}
			if !strings.Contains(res.HTML, tt.html) {
				t.Errorf("HTML = %q, want it to contain %q", res.HTML, tt.html)
			}
			if tt.defect != "" && !strings.Contains(strings.Join(res.Defects, "|"), tt.defect) {
				t.Errorf("Defects = %q, want one containing %q", res.Defects, tt.defect)
			}
			if res.TextTruncated != tt.truncated {
				t.Errorf("TextTruncated = %v, want %v", res.TextTruncated, tt.truncated)
			}
			if len(res.Text) > 1<<20 {
				t.Errorf("len(Text) = %d, over the cap", len(res.Text))
			}
			if len(res.Attachments) > 0 && tt.name != "two inline text parts" {
				t.Errorf("Attachments = %v, want none", res.Attachments)
			}
		})
	}
}

func TestWalkBareLF(t *testing.T) {
	msg := strings.ReplaceAll(mixed(textPart, filePart("a.pdf", "application/pdf", pdfData(5000))), "\r\n", "\n")
	res, err, blobs := walkMsg(t, msg)
	if err != nil {
		t.Fatalf("Walk(bare LF) = %v", err)
	}
	if len(res.Attachments) != 1 || !bytes.Equal(blobs.read(t, res.Attachments[0].BlobKey), pdfData(5000)) {
		t.Errorf("Attachments = %+v, want the PDF intact", res.Attachments)
	}
	if !strings.Contains(res.Text, "find the file attached") {
		t.Errorf("Text = %q", res.Text)
	}
}

func TestWalkHeader(t *testing.T) {
	msg := stdHeader + "\r\nbody\r\n"
	res, err, _ := walkMsg(t, msg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.HeaderSize, int64(len(stdHeader)+2); got != want {
		t.Errorf("HeaderSize = %d, want %d", got, want)
	}
	if id, _ := res.Header.MessageID(); id != "m1@partner.example" {
		t.Errorf("Message-ID = %q", id)
	}
	from, _ := res.Header.AddressList("From")
	if len(from) != 1 || from[0].Address != "pat@partner.example" {
		t.Errorf("From = %v", from)
	}
}

func TestWalkAttachments(t *testing.T) {
	word := []byte{0x06, 0x09, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}
	files := []struct {
		name, header string
		data         []byte
		want         string
	}{
		{"offer.pdf", "application/octet-stream", pdfData(200000), "application/pdf"},
		{"logo.png", "image/png", pngData(5000), "image/png"},
		{"photo.jpg", "application/x-whatever", jpegData(70000), "image/jpeg"},
		{"anim.gif", "image/gif", gifData(100), "image/gif"},
		{"contract.docx", "application/zip", docxData(t), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"notes.odt", "application/vnd.oasis.opendocument.text", odtData(t), "application/vnd.oasis.opendocument.text"},
		{"old.doc", "application/msword", oleData(word, 0), "application/msword"},
	}
	var parts []string
	parts = append(parts, textPart)
	for _, f := range files {
		parts = append(parts, filePart(f.name, f.header, f.data))
	}
	// A name with spaces and no quotes, which mime.ParseMediaType refuses.
	files = append(files, struct {
		name, header string
		data         []byte
		want         string
	}{"Q3 report.pdf", "application/pdf", pdfData(700), "application/pdf"})
	parts = append(parts, "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=Q3 report.pdf\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n"+b64lines(pdfData(700)))
	// An inline image of an HTML mail, with a name only in Content-Type.
	parts = append(parts, "Content-Type: image/png; name=\"=?UTF-8?Q?B=C3=BCro.png?=\"\r\nContent-ID: <img1>\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n"+b64lines(pngData(300)))
	res, err, blobs := walkMsg(t, mixed(parts...))
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	if len(res.Attachments) != len(files)+1 {
		t.Fatalf("got %d attachments, want %d: %+v", len(res.Attachments), len(files)+1, res.Attachments)
	}
	for i, f := range files {
		a := res.Attachments[i]
		if a.Filename != f.name || a.ContentType != f.want || a.Size != int64(len(f.data)) {
			t.Errorf("attachment %d = %q %q %d, want %q %q %d", i, a.Filename, a.ContentType, a.Size, f.name, f.want, len(f.data))
		}
		if got := blobs.read(t, a.BlobKey); !bytes.Equal(got, f.data) {
			t.Errorf("attachment %q blob differs from the file", f.name)
		}
	}
	if a := res.Attachments[len(files)]; a.Filename != "Büro.png" || a.ContentType != "image/png" {
		t.Errorf("inline image = %+v, want Büro.png image/png", a)
	}
	if !strings.Contains(res.Text, "find the file attached") {
		t.Errorf("Text = %q", res.Text)
	}
}

func TestWalkPolicy(t *testing.T) {
	eleven := []string{textPart}
	for i := 1; i <= 11; i++ {
		eleven = append(eleven, filePart(fmt.Sprintf("scan%02d.jpg", i), "image/jpeg", jpegData(1000)))
	}
	tests := []struct {
		name string
		msg  string
		rule Rule
		file string
		text string // substring of the error text
		code int
	}{
		{"exe renamed pdf", mixed(textPart, filePart("setup.pdf", "application/pdf", exeData())), RuleType, "setup.pdf",
			`attachment "setup.pdf" is application/vnd.microsoft.portable-executable: only JPEG, PNG, GIF images (up to 30 MB) and PDF or office documents`, 554},
		{"eleven attachments", mixed(eleven...), RuleCount, "scan11.jpg", "at most 10 attachments", 554},
		{"31 MB gif", mixed(textPart, filePart("big.gif", "image/gif", gifData(31*MiB))), RuleSize, "big.gif",
			`attachment "big.gif" (image/gif) is larger than 30 MB`, 552},
		{"forwarded mail", mixed(textPart, "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n"+
			"From: x@y.example\r\nSubject: old\r\n\r\nold body\r\n"), RuleType, "fwd.eml", "forwarded email", 554},
		{"digest", stdHeader + "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nFrom: a@b.example\r\n\r\nx\r\n--d--\r\n",
			RuleType, "attachment-1", "forwarded email", 554},
		{"broken multipart header hides exe", stdHeader + "Content-Type: multipart/mixed; boundary=b1; x=\"unterminated\r\n\r\n--b1\r\n" +
			filePart("setup.pdf", "application/pdf", exeData()) + "--b1--\r\n", RuleType, "setup.pdf", "portable-executable", 554},
		{"duplicate boundary params", stdHeader + "Content-Type: multipart/mixed; boundary=b1; boundary=b2\r\n\r\n--b1\r\n" +
			filePart("setup.pdf", "application/pdf", exeData()) + "--b1--\r\n", RuleType, "setup.pdf", "portable-executable", 554},
		{"zip", mixed(textPart, filePart("files.zip", "application/zip", zipData(t, "a.txt", "x"))), RuleType, "files.zip", "application/zip", 554},
		{"unnamed octet-stream", mixed(textPart, "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
			b64lines(exeData())), RuleType, "attachment-1", "portable-executable", 554},
		{"text file", mixed(textPart, "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nnotes\r\n"),
			RuleType, "notes.txt", "text/plain", 554},
		{"exe in winmail.dat", mixed(textPart, filePart("winmail.dat", "application/ms-tnef", tnefEncode(t, []tnefFile{
			{title: "report.pdf", data: pdfData(100)}, {title: "SETUP~1.PDF", long: "setup.pdf", data: exeData()}}))),
			RuleType, "SETUP~1.PDF", `attachment "SETUP~1.PDF" (in "winmail.dat") is application/vnd.microsoft.portable-executable`, 554},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err, _ := walkMsg(t, tt.msg)
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Walk = %v, want a *PolicyError", err)
			}
			if pe.Rule != tt.rule || pe.File != tt.file {
				t.Errorf("PolicyError = rule %q file %q, want %q %q", pe.Rule, pe.File, tt.rule, tt.file)
			}
			code, _, text, ok := SMTPStatus(err)
			if !ok || code != tt.code || !strings.Contains(text, tt.text) {
				t.Errorf("SMTPStatus = %d %q %v, want %d and text containing %q", code, text, ok, tt.code, tt.text)
			}
			if res.RawKey != "" || res.Attachments != nil {
				t.Errorf("failed Result still refers to blobs: %+v", res)
			}
			if subj, _ := res.Header.Subject(); subj == "" && strings.HasPrefix(tt.msg, stdHeader) {
				t.Errorf("failed Result lost the header")
			}
			if strings.Contains(tt.msg, "find the file attached") && !strings.Contains(res.Text, "find the file attached") {
				t.Errorf("failed Result lost the text: %q", res.Text)
			}
		})
	}
}

func TestWalkTNEF(t *testing.T) {
	tnef := tnefEncode(t, []tnefFile{
		{title: "QUARTE~1.PDF", long: "Quarterly report.pdf", data: pdfData(4000)},
		{title: "image001.png", data: pngData(600)},
	})
	res, err, blobs := walkMsg(t, mixed(textPart, filePart("winmail.dat", "application/ms-tnef", tnef)))
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	if len(res.Attachments) != 2 {
		t.Fatalf("Attachments = %+v, want the 2 files inside winmail.dat", res.Attachments)
	}
	if a := res.Attachments[0]; a.Filename != "Quarterly report.pdf" || a.ContentType != "application/pdf" || a.Size != 4000 {
		t.Errorf("first = %+v", a)
	}
	if got := blobs.read(t, res.Attachments[1].BlobKey); !bytes.Equal(got, pngData(600)) {
		t.Errorf("png from winmail.dat differs")
	}

	damaged := tnef[:len(tnef)-700]
	_, err, _ = walkMsg(t, mixed(textPart, filePart("winmail.dat", "application/ms-tnef", damaged)))
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(fe.Msg, `"winmail.dat" is a damaged Outlook (TNEF) container`) {
		t.Errorf("Walk(damaged winmail.dat) = %v, want a FormatError naming it", err)
	}
}

func TestWalkStructureParts(t *testing.T) {
	dsn := stdHeader + "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n" +
		"--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n" +
		"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"--r\r\nContent-Type: message/rfc822\r\n\r\nFrom: us@partners.acme.example\r\nSubject: hi\r\n\r\nhi\r\n--r--\r\n"
	res, err, _ := walkMsg(t, dsn)
	if err != nil {
		t.Fatalf("Walk(DSN) = %v", err)
	}
	if len(res.Attachments) != 0 || !strings.Contains(res.DeliveryStatus, "Status: 5.1.1") {
		t.Errorf("DSN: attachments %v, DeliveryStatus %q", res.Attachments, res.DeliveryStatus)
	}

	signed := stdHeader + "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=s\r\n\r\n" +
		"--s\r\n" + textPart + "--s\r\n" + filePart("smime.p7s", "application/pkcs7-signature", []byte("0\x82\x05signature")) + "--s--\r\n"
	res, err, _ = walkMsg(t, signed)
	if err != nil || len(res.Attachments) != 0 {
		t.Errorf("Walk(S/MIME signed) = %v, attachments %v; want accepted without attachments", err, res.Attachments)
	}
}

func TestWalkFormatErrors(t *testing.T) {
	deep := stdHeader
	for i := 0; i < 30; i++ {
		deep += fmt.Sprintf("Content-Type: multipart/mixed; boundary=d%d\r\n\r\n--d%d\r\n", i, i)
	}
	deep += "Content-Type: text/plain\r\n\r\nx\r\n"
	tests := []struct {
		name, msg, text string
	}{
		{"huge header", "X-Junk: " + strings.Repeat("a", 2<<20) + "\r\n\r\nbody", "header is larger"},
		{"huge part header", mixed("X-Junk: " + strings.Repeat("b", 2<<20) + "\r\n\r\nx\r\n"), "part header is larger"},
		{"deep nesting", deep, "nested too deeply"},
		{"malformed header", " starts with space\r\nFrom: a@b\r\n\r\nbody", "header is malformed"},
		{"garbage between parts", stdHeader + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\n" +
			"Content-Type: text/plain\r\n\r\ny\r\n--b junk\r\n--b--\r\n", "MIME structure is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err, _ := walkMsg(t, tt.msg)
			code, enh, text, ok := SMTPStatus(err)
			if !ok || code != 554 || enh != [3]int{5, 6, 0} || !strings.Contains(text, tt.text) {
				t.Errorf("Walk = %v (%d %v %q), want a 554 5.6.0 FormatError containing %q", err, code, enh, text, tt.text)
			}
		})
	}
}

func TestWalkTruncatedAttachment(t *testing.T) {
	msg := mixed(textPart, filePart("big.pdf", "application/pdf", pdfData(100000)))
	msg = msg[:len(msg)/2]
	res, err, _ := walkMsg(t, msg)
	if err != nil {
		t.Fatalf("Walk(truncated) = %v, want accepted", err)
	}
	if len(res.Attachments) != 1 || res.Attachments[0].Size == 0 || res.Attachments[0].Size >= 100000 {
		t.Errorf("Attachments = %+v, want one partial PDF", res.Attachments)
	}
	if !strings.Contains(strings.Join(res.Defects, "|"), "cut short") {
		t.Errorf("Defects = %q", res.Defects)
	}
}

func TestWalkStorageFailure(t *testing.T) {
	for _, failAt := range []int{1, 2, 3} {
		blobs := newFileBlobs(t)
		blobs.failAt = failAt
		w, _ := New(Config{Blobs: blobs})
		msg := mixed(textPart, filePart("a.pdf", "application/pdf", pdfData(100)), filePart("b.png", "image/png", pngData(100)))
		in := &drainCheck{r: strings.NewReader(msg)}
		_, err := w.Walk(context.Background(), in)
		if err == nil || IsPolicy(err) {
			t.Errorf("Walk with Create #%d failing = %v, want a storage error", failAt, err)
		}
		if _, _, _, ok := SMTPStatus(err); ok {
			t.Errorf("storage error %v must not be shown to the sender", err)
		}
		if blobs.committed() != 0 {
			t.Errorf("blobs left after a storage failure")
		}
		if failAt > 1 && !in.eof {
			t.Errorf("input not drained after a storage failure")
		}
	}
}

func TestWalkCommitFailure(t *testing.T) {
	for _, id := range []int{1, 2, 3} { // the raw blob, the PDF, the PNG
		blobs := newFileBlobs(t)
		blobs.failCommit = id
		w, _ := New(Config{Blobs: blobs})
		msg := mixed(textPart, filePart("a.pdf", "application/pdf", pdfData(100)), filePart("b.png", "image/png", pngData(100)))
		res, err := w.Walk(context.Background(), strings.NewReader(msg))
		if err == nil || !strings.Contains(err.Error(), "fsync failed") {
			t.Errorf("Walk with commit #%d failing = %v, want the storage error", id, err)
		}
		if n := blobs.committed(); n != 0 || res.RawKey != "" || res.Attachments != nil {
			t.Errorf("commit #%d failing left %d blobs, result %+v", id, n, res)
		}
	}
}

func TestWalkContextCanceled(t *testing.T) {
	w, blobs := newTestWalker(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.Walk(ctx, strings.NewReader(stdHeader+"\r\nbody\r\n"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk(canceled) = %v, want context.Canceled", err)
	}
	if blobs.committed() != 0 {
		t.Errorf("blobs left after cancel")
	}
}

func TestDiscard(t *testing.T) {
	w, blobs := newTestWalker(t)
	res, err := w.Walk(context.Background(), strings.NewReader(mixed(textPart, filePart("a.pdf", "application/pdf", pdfData(100)))))
	if err != nil {
		t.Fatal(err)
	}
	if blobs.committed() != 2 {
		t.Fatalf("committed = %d, want 2", blobs.committed())
	}
	if err := w.Discard(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	if blobs.committed() != 0 {
		t.Errorf("Discard left %d blobs", blobs.committed())
	}
}

// brokenConn returns its data and then fails, like a connection killed in
// the middle of DATA.
type brokenConn struct {
	r   io.Reader
	err error
}

func (b *brokenConn) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}

func TestWalkConnectionKilled(t *testing.T) {
	msg := mixed(textPart, filePart("a.pdf", "application/pdf", pdfData(200000)), filePart("b.png", "image/png", pngData(100)))
	for _, cut := range []int{10, len(msg) / 3, len(msg) - 5} {
		w, blobs := newTestWalker(t)
		in := &brokenConn{r: strings.NewReader(msg[:cut]), err: io.ErrUnexpectedEOF}
		res, err := w.Walk(context.Background(), in)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Walk(cut at %d) = %v, want the connection's error", cut, err)
		}
		if _, _, _, ok := SMTPStatus(err); ok {
			t.Errorf("a dead connection must not map to a 5xx reply: %v", err)
		}
		if blobs.committed() != 0 || res.RawKey != "" {
			t.Errorf("cut at %d: blobs left behind", cut)
		}
	}
}

// TestCaptureCutAfterRepair: invalid bytes become U+FFFD (3 bytes each),
// and the repaired text must still fit MaxTextBytes, cut on a character.
func TestCaptureCutAfterRepair(t *testing.T) {
	for _, in := range []string{strings.Repeat("\xffa", 5), "é" + strings.Repeat("\xffa", 4), "€€€\xff"} {
		var c capture
		c.start(10)
		c.Write([]byte(in))
		got := c.String()
		if len(got) > 10 || !utf8.ValidString(got) || !c.cut {
			t.Errorf("capture(%q).String() = %q (cut %v), want valid UTF-8 of at most 10 bytes, cut", in, got, c.cut)
		}
	}
}
