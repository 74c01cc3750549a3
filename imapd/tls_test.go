package imapd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/threading"
)

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TestTLS: with InsecureAuth off, LOGIN works after STARTTLS and on the
// implicit-TLS listener.
func TestTLS(t *testing.T) {
	e := newTestServer(t, sqlstore.SQLite)
	tokens, _ := threading.NewTokens([]threading.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}, time.Now)
	srv, err := New(Config{Store: e.st, Hub: notify.NewLocal(), Tokens: tokens, TLS: selfSigned(t)})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := net.Listen("tcp", "127.0.0.1:0")
	secure, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(plain)
	go srv.ImplicitTLS().Serve(secure)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	opts := &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}}

	c, err := imapclient.DialStartTLS(plain.Addr().String(), opts)
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.Login(e.f.Admin.Email, testPassword).Wait(); err != nil {
		t.Fatalf("LOGIN after STARTTLS: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	c2, err := imapclient.DialTLS(secure.Addr().String(), opts)
	if err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	defer c2.Close()
	if c2.Caps().Has("STARTTLS") {
		t.Error("STARTTLS offered on an implicit-TLS connection")
	}
	if err := c2.Login(e.f.Admin.Email, testPassword).Wait(); err != nil {
		t.Fatalf("LOGIN over implicit TLS: %v", err)
	}
	if _, err := c2.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
}
