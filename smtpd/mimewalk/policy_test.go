package mimewalk

import (
	"bytes"
	"errors"
	"testing"
)

func TestCheckFile(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name  string
		index int
		data  []byte
		size  int64
		typ   string
		rule  Rule
	}{
		{"offer.pdf", 1, pdfData(1000), -1, "application/pdf", ""},
		{"logo.png", 10, pngData(100), 100, "image/png", ""},
		{"eleventh.png", 11, pngData(100), 100, "", RuleCount},
		{"setup.pdf", 1, exeData(), -1, "application/vnd.microsoft.portable-executable", RuleType},
		{"huge.jpg", 1, jpegData(1000), 31 * MiB, "image/jpeg", RuleSize},
		{"big.gif", 1, gifData(30*MiB + 1), -1, "image/gif", RuleSize},
		{"max.pdf", 1, pdfData(100), 250 * MiB, "application/pdf", ""},
		{"empty.pdf", 1, nil, -1, "application/x-empty", RuleType},
	}
	for _, tt := range tests {
		typ, err := p.CheckFile(tt.name, tt.index, bytes.NewReader(tt.data), tt.size)
		var pe *PolicyError
		switch {
		case tt.rule == "" && err != nil:
			t.Errorf("CheckFile(%q) = %v, want nil", tt.name, err)
		case tt.rule != "" && (!errors.As(err, &pe) || pe.Rule != tt.rule || pe.File != tt.name):
			t.Errorf("CheckFile(%q) = %v, want a %s violation", tt.name, err, tt.rule)
		}
		if typ != tt.typ {
			t.Errorf("CheckFile(%q) type = %q, want %q", tt.name, typ, tt.typ)
		}
	}
}
