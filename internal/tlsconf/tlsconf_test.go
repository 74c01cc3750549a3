package tlsconf

import (
	"bufio"
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeCert writes a fresh self-signed pair named cn to cert.pem/key.pem in dir.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := WriteSelfSigned(certFile, keyFile, time.Hour, cn); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// echoServer serves line echo over TLS on 127.0.0.1:0.
func echoServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// dial handshakes and returns the connection and the served certificate's CN.
func dial(t *testing.T, addr string) (*tls.Conn, string) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func echo(t *testing.T, c *tls.Conn, line string) {
	t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatalf("write on old connection: %v", err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("echo(%q) = %q, %v", line, got, err)
	}
}

func TestReloadKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "one.example")
	cert, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	addr := echoServer(t, cert.Config())

	old, cn := dial(t, addr)
	if cn != "one.example" {
		t.Fatalf("first handshake served %q, want one.example", cn)
	}
	echo(t, old, "before")

	writeCert(t, dir, "two.example")
	if err := cert.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if _, cn := dial(t, addr); cn != "two.example" {
		t.Fatalf("handshake after Reload served %q, want two.example", cn)
	}
	echo(t, old, "after reload") // the old session is still up

	// A broken new pair keeps the current certificate.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cert.Reload(); err == nil {
		t.Fatal("Reload with a broken key succeeded")
	}
	if _, cn := dial(t, addr); cn != "two.example" {
		t.Fatalf("handshake after failed Reload served %q, want two.example", cn)
	}
	if got := cert.Leaf().Subject.CommonName; got != "two.example" {
		t.Fatalf("Leaf() = %q after failed Reload, want two.example", got)
	}
}

func TestLoadErrors(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	certA, _ := writeCert(t, a, "a.example")
	_, keyB := writeCert(t, b, "b.example")
	for _, tc := range []struct{ name, cert, key string }{
		{"missing files", filepath.Join(a, "nope.pem"), filepath.Join(a, "nope.key")},
		{"mismatched pair", certA, keyB},
	} {
		if _, err := Load(tc.cert, tc.key); err == nil {
			t.Errorf("Load(%s) succeeded, want an error", tc.name)
		}
	}
}
