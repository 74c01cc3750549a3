package mimewalk

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// Sample files: the smallest bytes each sniffer recognises, padded to n.
func pad(head []byte, n int) []byte {
	b := make([]byte, max(n, len(head)))
	copy(b, head)
	for i := len(head); i < len(b); i++ {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func jpegData(n int) []byte { return pad([]byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), n) }
func pngData(n int) []byte  { return pad([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), n) }
func gifData(n int) []byte  { return pad([]byte("GIF89a\x01\x00\x01\x00"), n) }
func pdfData(n int) []byte  { return pad([]byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"), n) }

// exeData is a minimal PE file: MZ header pointing at a PE signature.
func exeData() []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	b[0x3c] = 0x80
	copy(b[0x80:], "PE\x00\x00\x4c\x01")
	return b
}

func zipData(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		method := zip.Deflate
		if files[i] == "mimetype" {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: files[i], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func docxData(t testing.TB) []byte {
	return zipData(t, "[Content_Types].xml", `<?xml version="1.0"?><Types/>`, "_rels/.rels", "<Relationships/>",
		"word/document.xml", "<w:document/>")
}

func xlsxData(t testing.TB) []byte {
	return zipData(t, "[Content_Types].xml", `<?xml version="1.0"?><Types/>`, "xl/workbook.xml", "<workbook/>")
}

// docxLateData has a large first entry, so word/ starts past 4 KiB.
func docxLateData(t testing.TB) []byte {
	big := strings.Repeat(fmt.Sprintf("%x", bytes.Repeat([]byte{1, 2, 3}, 10)), 2000)
	return zipData(t, "[Content_Types].xml", `<?xml version="1.0"?><Types/>`, "docProps/thumbnail.bin", big,
		"word/document.xml", "<w:document/>")
}

func odtData(t testing.TB) []byte {
	return zipData(t, "mimetype", "application/vnd.oasis.opendocument.text", "content.xml", "<office:document-content/>")
}

// oleData is a compound file whose root directory entry (sector 0, after
// the 512-byte header; or further with dirSector) carries clsid.
func oleData(clsid []byte, dirSector int) []byte {
	b := make([]byte, 512*(2+dirSector)+512)
	copy(b, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
	b[26], b[27] = 3, 0
	b[48] = byte(dirSector)
	off := 512*(1+dirSector) + 80
	copy(b[off:], clsid)
	return b
}

func b64lines(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteString("\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}

// filePart is a base64 attachment part (without its boundary line).
func filePart(name, ctype string, data []byte) string {
	return fmt.Sprintf("Content-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n%s", ctype, name, name, b64lines(data))
}

const textPart = "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, please find the file attached.\r\n"

const stdHeader = "From: Pat Partner <pat@partner.example>\r\nTo: reply+abc@partners.acme.example\r\n" +
	"Subject: files\r\nMessage-ID: <m1@partner.example>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"

// mixed builds a multipart/mixed message from parts.
func mixed(parts ...string) string {
	var b strings.Builder
	b.WriteString(stdHeader)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\nThis is a MIME message.\r\n")
	for _, p := range parts {
		b.WriteString("--b1\r\n")
		b.WriteString(p)
	}
	b.WriteString("--b1--\r\n")
	return b.String()
}
