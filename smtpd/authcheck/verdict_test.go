package authcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStripForged(t *testing.T) {
	const id = "mx.partners.acme.example"
	tests := []struct {
		name, in, want string
		removed        int
	}{
		{"ours", "From: a@b\r\nAuthentication-Results: mx.partners.acme.example; spf=pass\r\nSubject: x\r\n\r\n",
			"From: a@b\r\nSubject: x\r\n\r\n", 1},
		{"case and version", "authentication-results:   MX.Partners.ACME.example 1; dkim=pass\r\nSubject: x\r\n",
			"Subject: x\r\n", 1},
		{"comment first, folded", "Authentication-Results: (forged by a spammer)\r\n mx.partners.acme.example;\r\n\tdmarc=pass\r\nX: y\r\n",
			"X: y\r\n", 1},
		{"quoted id", "Authentication-Results: \"mx.partners.acme.example\"; spf=pass\r\n", "", 1},
		{"no results", "Authentication-Results: mx.partners.acme.example; none\r\n", "", 1},
		{"foreign kept", "Authentication-Results: mx.google.com; dkim=pass\r\nAuthentication-Results: mx.partners.acme.example.evil; spf=pass\r\n",
			"Authentication-Results: mx.google.com; dkim=pass\r\nAuthentication-Results: mx.partners.acme.example.evil; spf=pass\r\n", 0},
		{"other headers mention it", "X-Note: Authentication-Results: mx.partners.acme.example\r\nReceived: by mx.partners.acme.example\r\n",
			"X-Note: Authentication-Results: mx.partners.acme.example\r\nReceived: by mx.partners.acme.example\r\n", 0},
		{"bare LF", "Authentication-Results: mx.partners.acme.example; spf=pass\nSubject: x\n\nbody not a header\n",
			"Subject: x\n\nbody not a header\n", 1},
		{"body untouched", "Subject: x\r\n\r\nAuthentication-Results: mx.partners.acme.example; spf=pass\r\n",
			"Subject: x\r\n\r\nAuthentication-Results: mx.partners.acme.example; spf=pass\r\n", 0},
		{"no final newline", "Subject: x\r\nAuthentication-Results: mx.partners.acme.example; spf=pass", "Subject: x\r\n", 1},
	}
	for _, tt := range tests {
		got, n := StripForged([]byte(tt.in), id)
		if string(got) != tt.want || n != tt.removed {
			t.Errorf("StripForged(%s) = %q, %d; want %q, %d", tt.name, got, n, tt.want, tt.removed)
		}
	}
}

func TestRewrite(t *testing.T) {
	v := &Verdict{authservID: "mx.test", mode: ModeRecord, SPF: SPFResult{Result: "pass", Domain: "b.example"},
		DMARC: DMARCResult{Result: "none", FromDomain: "b.example"}}
	got := string(v.Rewrite([]byte("Authentication-Results: mx.test; spf=pass\r\nFrom: a@b.example\r\n\r\n")))
	want := "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=b.example;\r\n\tdkim=none;\r\n\tdmarc=none header.from=b.example\r\nFrom: a@b.example\r\n\r\n"
	if got != want {
		t.Errorf("Rewrite = %q, want %q", got, want)
	}
}

func TestRewriteStored(t *testing.T) {
	value := "mx.test; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail reason=\"no aligned pass p=reject\" header.from=partner.example"
	got := string(Rewrite([]byte("Authentication-Results: MX.TEST; dkim=pass\r\nSubject: hi\r\n\r\n"), "mx.test", value))
	if !strings.HasPrefix(got, "Authentication-Results: mx.test;\r\n\tspf=fail") || strings.Contains(got, "MX.TEST") ||
		!strings.HasSuffix(got, "Subject: hi\r\n\r\n") {
		t.Errorf("Rewrite = %q", got)
	}
	if FormatField("") != "" {
		t.Errorf("FormatField(\"\") is not empty")
	}
}

func FuzzStripForged(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.hdr")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("Authentication-Results: (c) mx.test; spf=pass\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		out, n := StripForged([]byte(in), "mx.test")
		if len(out) > len(in) || (n == 0 && string(out) != in) {
			t.Fatalf("StripForged(%q) = %q, %d", in, out, n)
		}
		if again, m := StripForged(out, "mx.test"); m != 0 || string(again) != string(out) {
			t.Fatalf("StripForged is not idempotent on %q", in)
		}
		_ = strings.ToLower(authservIDOf(in))
	})
}
