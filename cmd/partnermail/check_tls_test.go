package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/config"
	"github.com/partnermail/partnermail/internal/tlsconf"
)

func TestTLSWarnings(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := tlsconf.WriteSelfSigned(cert, key, 90*24*time.Hour, "mx.example.com"); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.TLS = config.TLS{CertFile: cert, KeyFile: key}
	now := time.Now()
	for _, tc := range []struct {
		name     string
		hostname string
		at       time.Time
		want     string // "" for no warning
	}{
		{"good", "mx.example.com", now, ""},
		{"wrong host", "mail.other.example", now, "does not name smtp.hostname mail.other.example"},
		{"expiring", "mx.example.com", now.Add(80 * 24 * time.Hour), "expires on"},
		{"expired", "mx.example.com", now.Add(100 * 24 * time.Hour), "expired on"},
	} {
		cfg.SMTP.Hostname = tc.hostname
		got := strings.Join(tlsWarnings(cfg, tc.at), "; ")
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: tlsWarnings = %q, want %q", tc.name, got, tc.want)
		}
	}
	cfg.TLS.KeyFile = filepath.Join(dir, "missing.pem")
	if got := tlsWarnings(cfg, now); len(got) != 1 || !strings.Contains(got[0], "c.pem") {
		t.Errorf("missing key: tlsWarnings = %q, want one error naming the certificate", got)
	}
}
