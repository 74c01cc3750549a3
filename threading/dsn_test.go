package threading

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		file     string
		standard bool
		severity Severity
		rcpts    []DSNRecipient // FinalRecipient, Action, Status; Diagnostic checked by prefix
		err      error
	}{
		{"postfix-hard.eml", true, SeverityHard, []DSNRecipient{{FinalRecipient: "old.employee@reseller.example", OriginalRecipient: "old.employee@reseller.example", Action: "failed", Status: "5.1.1", Diagnostic: "550 5.1.1 <old.employee@reseller.example>: Recipient address rejected: User unknown"}}, nil},
		{"postfix-delayed.eml", true, SeveritySoft, []DSNRecipient{{FinalRecipient: "busy@reseller.example", Action: "delayed", Status: "4.4.1", Diagnostic: "connect to mx.reseller.example"}}, nil},
		{"exchange-o365.eml", true, SeverityHard, []DSNRecipient{{FinalRecipient: "nobody@contoso.example", Action: "failed", Status: "5.1.10", Diagnostic: "550 5.1.10 RESOLVER"}}, nil},
		{"gmail-base64.eml", true, SeverityHard, []DSNRecipient{{FinalRecipient: "gone@gmail.example", Action: "failed", Status: "5.1.1", Diagnostic: "550-5.1.1 The email account"}}, nil},
		{"nested-mixed.eml", true, SeverityHard, []DSNRecipient{
			{FinalRecipient: "first@x.example", Action: "failed", Status: "5.2.2"},
			{FinalRecipient: "second@x.example", Action: "delivered", Status: "2.0.0"},
		}, nil},
		{"truncated.eml", true, SeverityHard, []DSNRecipient{{FinalRecipient: "cut@reseller.example", Action: "failed", Status: "5.1.1"}}, nil},
		{"exim-plain.eml", false, SeverityHard, []DSNRecipient{{FinalRecipient: "left.company@hosting.example", Action: "failed", Status: "5.0.0", Diagnostic: "550 No such user here"}}, nil},
		{"exim-temporary.eml", false, SeveritySoft, []DSNRecipient{{FinalRecipient: "full.box@hosting.example", Action: "delayed", Status: "4.2.2", Diagnostic: "452 4.2.2 Mailbox full"}}, nil},
		{"qmail-plain.eml", false, SeverityHard, []DSNRecipient{{FinalRecipient: "someone@old.example", Action: "failed", Status: "5.7.1", Diagnostic: "Remote host said: 550 5.7.1"}}, nil},
		{"mdn.eml", false, SeverityNone, nil, ErrNotDSN},
		{"human.eml", false, SeverityNone, nil, ErrNotDSN},
	}
	for _, tt := range tests {
		f, err := os.Open(filepath.Join("testdata/dsn", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseDSN(f)
		f.Close()
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseDSN(%s) = %+v, %v, want error %v", tt.file, d, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDSN(%s) error %v", tt.file, err)
			continue
		}
		if d.Standard != tt.standard || d.Severity() != tt.severity || len(d.Recipients) != len(tt.rcpts) {
			t.Errorf("ParseDSN(%s) = %+v (severity %v), want standard=%v severity %v, %d recipients", tt.file, d, d.Severity(), tt.standard, tt.severity, len(tt.rcpts))
			continue
		}
		for i, want := range tt.rcpts {
			got := d.Recipients[i]
			if got.FinalRecipient != want.FinalRecipient || got.OriginalRecipient != want.OriginalRecipient ||
				got.Action != want.Action || got.Status != want.Status || !strings.HasPrefix(got.Diagnostic, want.Diagnostic) {
				t.Errorf("ParseDSN(%s) recipient %d = %+v, want %+v", tt.file, i, got, want)
			}
		}
	}
}

func TestDSNSummary(t *testing.T) {
	d := DSN{Recipients: []DSNRecipient{
		{FinalRecipient: "ok@x.example", Action: "delivered", Status: "2.0.0"},
		{FinalRecipient: "gone@x.example", Action: "failed", Status: "5.1.1", Diagnostic: "550 5.1.1\n   user unknown"},
	}}
	if got, want := d.Summary(), "5.1.1 gone@x.example: 550 5.1.1 user unknown"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if got := (DSN{Recipients: []DSNRecipient{{Action: "delivered"}}}).Summary(); got != "" {
		t.Errorf("Summary() of a success = %q, want \"\"", got)
	}
	if got := (DSN{Recipients: []DSNRecipient{{Action: "failed", Diagnostic: strings.Repeat("é", 400)}}}).Summary(); len(got) > 500 {
		t.Errorf("Summary() is %d bytes, want <= 500", len(got))
	}
}

func TestDSNRecipientSeverity(t *testing.T) {
	tests := []struct {
		action, status string
		want           Severity
	}{
		{"failed", "5.1.1", SeverityHard},
		{"failed", "", SeverityHard},
		{"failed", "4.4.7", SeveritySoft},
		{"delayed", "4.4.1", SeveritySoft},
		{"delivered", "2.0.0", SeverityNone},
		{"relayed", "2.0.0", SeverityNone},
		{"", "5.0.0", SeverityHard},
		{"", "4.0.0", SeveritySoft},
		{"", "", SeverityNone},
	}
	for _, tt := range tests {
		r := DSNRecipient{Action: tt.action, Status: tt.status}
		if got := r.Severity(); got != tt.want {
			t.Errorf("DSNRecipient{Action: %q, Status: %q}.Severity() = %v, want %v", tt.action, tt.status, got, tt.want)
		}
	}
	if SeverityHard.String() != "hard" || SeveritySoft.String() != "soft" || SeverityNone.String() != "" {
		t.Errorf("Severity strings must equal storage.Bounce* values")
	}
}

// TestParseDSNBounded checks that ParseDSN stops reading after
// MaxDSNBytes of a huge bounce.
func TestParseDSNBounded(t *testing.T) {
	head := "Subject: Mail delivery failed\r\n\r\nThis is a permanent error.\r\n  x@y.example\r\n550 5.1.1 no\r\n"
	r := &countingReader{r: io.MultiReader(strings.NewReader(head), zeros{})}
	d, err := ParseDSN(r)
	if err != nil || d.Severity() != SeverityHard {
		t.Errorf("ParseDSN(huge) = %+v, %v", d, err)
	}
	if r.n > MaxDSNBytes {
		t.Errorf("ParseDSN read %d bytes, want <= %d", r.n, MaxDSNBytes)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func FuzzParseDSN(f *testing.F) {
	files, _ := filepath.Glob("testdata/dsn/*.eml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--x--"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDSN(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(d.Recipients) == 0 || len(d.Recipients) > maxDSNRecipients {
			t.Fatalf("ParseDSN(%q) = %d recipients", b, len(d.Recipients))
		}
		for _, r := range d.Recipients {
			if r.Status != "" && enhancedStatus(r.Status) != r.Status {
				t.Fatalf("ParseDSN(%q): bad status %q", b, r.Status)
			}
		}
	})
}
