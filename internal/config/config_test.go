package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExampleIsDefault(t *testing.T) {
	c, err := Load("../../docs/partnermail.example.toml")
	if err != nil {
		t.Fatalf("Load(example) = %v", err)
	}
	want := Default()
	if !reflect.DeepEqual(c, want) {
		t.Errorf("example config = %+v\nwant defaults %+v", c, want)
	}
}

func TestDevMode(t *testing.T) {
	t.Setenv("PARTNERMAIL_DSN", "")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Dev || c.SMTP.AuthChecks != "off" || !c.IMAP.InsecureAuth {
		t.Errorf("Load(\"\") = %+v, want dev mode", c)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"typo", "[smtp]\nlisten = \"x\"\nmax_recipient = 5\n", "unknown key smtp.max_recipient"},
		{"section", "[smpt]\nlisten = \"x\"\n", "unknown key smpt"},
		{"choice", "[smtp]\nauth_checks = \"maybe\"\n", `smtp.auth_checks = "maybe"`},
		{"postgres", "[storage]\ndriver = \"postgres\"\n", "storage.dsn is required"},
		{"syntax", "[smtp\n", "config"},
		{"https without certificate", "[http]\nlisten_tls = \":443\"\n", "http.listen_tls needs a certificate"},
		{"imap key in submission", "[submission]\nenvelope_cache_mb = 64\n", "unknown key submission.envelope_cache_mb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PARTNERMAIL_DSN", "")
			p := filepath.Join(t.TempDir(), "c.toml")
			os.WriteFile(p, []byte(tt.file), 0o600)
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%q) = %v, want error containing %q", tt.file, err, tt.want)
			}
		})
	}
}

func TestDevSecretPersists(t *testing.T) {
	c := Default()
	c.Storage.DataDir = t.TempDir()
	a, err := c.Secrets()
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Secrets()
	if err != nil {
		t.Fatal(err)
	}
	if string(a[0].Secret) != string(b[0].Secret) || len(a[0].Secret) < 32 {
		t.Errorf("secrets %q, %q: want one persisted secret", a[0].Secret, b[0].Secret)
	}
	fi, _ := os.Stat(filepath.Join(c.Storage.DataDir, devSecretFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
}
