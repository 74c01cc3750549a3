package mimewalk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

type tnefGot struct {
	name string
	size int
}

func decodeAll(data []byte) ([]tnefGot, error) {
	var got []tnefGot
	err := decodeTNEF(bytes.NewReader(data), func(name string, r io.Reader) (func(string), error) {
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return nil, err
		}
		i := len(got)
		got = append(got, tnefGot{name, int(n)})
		return func(long string) { got[i].name = long }, nil
	})
	return got, err
}

func TestDecodeTNEF(t *testing.T) {
	data := tnefEncode(t, []tnefFile{
		{title: "QUARTE~1.PDF", long: "Quarterly report 2026.pdf", data: pdfData(3000)},
		{title: "photo.jpg", data: jpegData(100)},
		{title: "PRICEL~1.XLS", long: "Preisliste Österreich.xlsx", unicode: true, data: xlsxData(t)},
	})
	got, err := decodeAll(data)
	if err != nil {
		t.Fatalf("decodeTNEF: %v", err)
	}
	want := []tnefGot{{"Quarterly report 2026.pdf", 3000}, {"photo.jpg", 100}, {"Preisliste Österreich.xlsx", len(xlsxData(t))}}
	if len(got) != len(want) {
		t.Fatalf("decodeTNEF = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("file %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDecodeTNEFMalformed(t *testing.T) {
	good := tnefEncode(t, []tnefFile{{title: "a.pdf", data: pdfData(500)}})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad signature", append([]byte{1, 2, 3, 4, 5, 6}, good[6:]...)},
		{"truncated in data", good[:len(good)-200]},
		{"truncated record header", good[:len(good)-3-len(mapiProps(tnefFile{}))-6]},
		{"bad level", append(append([]byte{}, good[:6]...), 9, 0, 0, 0, 0, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		_, err := decodeAll(tt.data)
		if !errors.Is(err, errTNEF) {
			t.Errorf("decodeTNEF(%s) = %v, want errTNEF", tt.name, err)
		}
	}
}

func FuzzTNEF(f *testing.F) {
	f.Add(tnefEncode(f, []tnefFile{{title: "a.pdf", long: "long name.pdf", data: pdfData(64)}}))
	f.Add(tnefEncode(f, []tnefFile{{title: "b.jpg", long: "bild.jpg", unicode: true, data: jpegData(16)}, {title: "c", data: nil}}))
	seeds, _ := filepath.Glob("testdata/*.tnef")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeAll(data)
		if err != nil && !errors.Is(err, errTNEF) {
			t.Fatalf("decodeTNEF: unexpected error kind %v", err)
		}
		total := 0
		for _, g := range got {
			total += g.size
		}
		if total > len(data) {
			t.Fatalf("decoded %d bytes from %d bytes of input", total, len(data))
		}
	})
}
