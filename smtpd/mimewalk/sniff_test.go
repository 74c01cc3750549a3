package mimewalk

import "testing"

func TestSniff(t *testing.T) {
	word := []byte{0x06, 0x09, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}
	excel := []byte{0x10, 0x08, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"jpeg", jpegData(100), "image/jpeg"},
		{"png", pngData(100), "image/png"},
		{"gif", gifData(100), "image/gif"},
		{"pdf", pdfData(100), "application/pdf"},
		{"exe", exeData(), "application/vnd.microsoft.portable-executable"},
		{"docx", docxData(t), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"docx late", docxLateData(t), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"xlsx", xlsxData(t), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"odt", odtData(t), "application/vnd.oasis.opendocument.text"},
		{"doc", oleData(word, 0), "application/msword"},
		{"doc late directory", oleData(word, 12), "application/msword"},
		{"xls late directory", oleData(excel, 12), "application/vnd.ms-excel"},
		{"ole unknown", oleData([]byte{1, 2, 3, 4}, 0), "application/x-ole-storage"},
		{"zip", zipData(t, "a.txt", "hello"), "application/zip"},
		{"text", []byte("hello world\n"), "text/plain"},
		{"tnef", tnefEncode(t, nil), tnefType},
		{"empty", nil, "application/x-empty"},
	}
	for _, tt := range tests {
		if got := Sniff(tt.data); got != tt.want {
			t.Errorf("Sniff(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
