package outbound

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// testCert returns a server TLS config for 127.0.0.1 and a client config
// that trusts it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"relay.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// TestRelayTLSAuth sends through STARTTLS and implicit TLS relays that
// require AUTH PLAIN; a wrong password keeps the email queued (an
// operator's mistake is no reason to lose mail).
func TestRelayTLSAuth(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			env := newWkEnv(t, sqlstore.SQLite)
			relay := newFakeRelay(t, mode, serverTLS)
			relay.user, relay.password = "relayuser", "s3cret"
			emails := env.queue(t, 0, env.f.Ann, env.f.Bob)
			bad := env.newRelay(t, RelayConfig{Host: relay.host, Port: relay.port, TLS: mode, TLSConfig: clientTLS,
				Username: "relayuser", Password: "wrong"})
			flush(t, env.worker(t, WorkerConfig{Transport: bad}))
			if r := env.row(t, emails[0].ID); r.State != storage.QueueQueued || r.LastError == "" {
				t.Fatalf("with a wrong password: %+v, want queued with the error", r)
			}
			good := env.newRelay(t, RelayConfig{Host: relay.host, Port: relay.port, TLS: mode, TLSConfig: clientTLS,
				Username: "relayuser", Password: "s3cret"})
			env.clock.Add(time.Hour)
			flush(t, env.worker(t, WorkerConfig{Transport: good, Workers: 1}))
			got := relay.emails()
			if len(got) != 2 {
				t.Fatalf("relay got %d emails, want 2", len(got))
			}
			for _, r := range got {
				if !r.TLS || !r.Auth {
					t.Errorf("email over TLS %v, authenticated %v; want both", r.TLS, r.Auth)
				}
			}
			if good.Dials() != 1 {
				t.Errorf("%d dials for 2 emails, want 1", good.Dials())
			}
		})
	}
	// STARTTLS required but not offered: no email leaves in clear.
	env := newWkEnv(t, sqlstore.SQLite)
	tr := env.newRelay(t, RelayConfig{Host: env.relay.host, Port: env.relay.port, TLS: TLSStartTLS})
	emails := env.queue(t, 0, env.f.Ann)
	flush(t, env.worker(t, WorkerConfig{Transport: tr}))
	if r := env.row(t, emails[0].ID); r.State != storage.QueueQueued || !strings.Contains(r.LastError, "STARTTLS") || len(env.relay.emails()) != 0 {
		t.Errorf("relay without STARTTLS: %+v, %d sent; want queued, none sent", r, len(env.relay.emails()))
	}
}

// TestRelayDKIM signs with the key of the From domain; the signature
// verifies against the published key.
func TestRelayDKIM(t *testing.T) {
	env := newWkEnv(t, sqlstore.SQLite)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDKIM([]DKIMKey{{Domain: "a.example", Selector: "pm1", KeyFile: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
	tr := env.newRelay(t, RelayConfig{DKIM: d})
	env.queue(t, 0, env.f.Ann)
	flush(t, env.worker(t, WorkerConfig{Transport: tr}))
	got := env.relay.emails()
	if len(got) != 1 {
		t.Fatalf("relay got %d emails", len(got))
	}
	raw := strings.ReplaceAll(got[0].Data, "\n", "\r\n")
	vs, err := dkim.VerifyWithOptions(strings.NewReader(raw), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if name != "pm1._domainkey.a.example" {
			return nil, errors.New("no such record " + name)
		}
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}})
	if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "a.example" {
		t.Fatalf("DKIM verification = %+v, %v; want one valid signature of a.example", vs, err)
	}
	if _, err := LoadDKIM([]DKIMKey{{Domain: "x", Selector: "s", KeyFile: filepath.Join(t.TempDir(), "missing")}}); err == nil {
		t.Error("LoadDKIM with a missing key file: no error")
	}
}

// TestRelayStaleConnection: a pooled connection the relay closed while
// idle is replaced without failing the email.
func TestRelayStaleConnection(t *testing.T) {
	env := newWkEnv(t, sqlstore.SQLite)
	tr := env.newRelay(t, RelayConfig{IdleCheck: time.Hour}) // never NOOP-checked
	env.queue(t, 0, env.f.Ann)
	w := env.worker(t, WorkerConfig{Transport: tr, Workers: 1})
	flush(t, w)
	// The relay drops every connection (an idle timeout).
	tr.mu.Lock()
	for _, rc := range tr.idle {
		rc.raw.Close()
	}
	tr.mu.Unlock()
	emails := env.queue(t, 0, env.f.Bob)
	flush(t, w)
	if r := env.row(t, emails[0].ID); r.State != storage.QueueSent || r.Attempts != 1 {
		t.Errorf("email after the connection died: %+v, want sent at the first attempt", r)
	}
	if tr.Dials() != 2 {
		t.Errorf("%d dials, want 2", tr.Dials())
	}
}

// TestClassify is the one table of temporary and permanent failures.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want outcome
	}{
		{"network", errors.New("dial tcp: connection refused"), outcome{}},
		{"no reply", &SMTPError{Stage: "MAIL", Err: errors.New("EOF")}, outcome{}},
		{"4xx rcpt", &SMTPError{Stage: "RCPT", Code: 451}, outcome{code: 451}},
		{"5xx rcpt", &SMTPError{Stage: "RCPT", Code: 550}, outcome{permanent: true, bounce: true, hard: true, code: 550}},
		{"5xx data", &SMTPError{Stage: "DATA", Code: 554, Enhanced: "5.7.1"}, outcome{permanent: true, bounce: true, code: 554}},
		{"5.1.1 at data", &SMTPError{Stage: "DATA", Code: 550, Enhanced: "5.1.1"}, outcome{permanent: true, bounce: true, hard: true, code: 550}},
		{"permanent", &PermanentError{errors.New("bad")}, outcome{permanent: true}},
		{"gone", storage.ErrNotFound, outcome{permanent: true}},
		{"smtp server error text", &smtp.SMTPError{Code: 550}, outcome{}},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%s: %v) = %+v, want %+v", tc.name, tc.err, got, tc.want)
		}
	}
}
