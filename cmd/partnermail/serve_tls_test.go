package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/internal/tlsconf"
)

// certExpiry reads the TLS expiry gauge from /metrics.
func certExpiry(t *testing.T, httpAddr string) string {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^partnermail_tls_certificate_expiry_seconds (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no partnermail_tls_certificate_expiry_seconds in /metrics")
	}
	return string(m[1])
}

// httpsLeaf GETs /healthz over HTTPS and returns the certificate served.
func httpsLeaf(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET https /healthz: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET https /healthz: %s", resp.Status)
	}
	c.CloseIdleConnections()
	return resp.TLS.PeerCertificates[0]
}

// waitLog waits until the serve log contains s (the deadline only bounds a
// hang; nothing here asserts speed).
func waitLog(t *testing.T, log *testenv.SyncBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(log.String(), s) {
			return
		}
	}
	t.Fatalf("serve log never said %q:\n%s", s, log.String())
}

// startTLS opens an SMTP submission session with STARTTLS and returns it
// with the certificate the server presented.
func startTLS(t *testing.T, addr string) (*smtp.Client, *x509.Certificate) {
	t.Helper()
	c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("submission with STARTTLS: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("localhost"); err != nil { // EHLO again, over TLS: the handshake is done
		t.Fatalf("EHLO after STARTTLS: %v", err)
	}
	st, _ := c.TLSConnectionState()
	return c, st.PeerCertificates[0]
}

func TestServeReloadsTLSOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsconf.WriteSelfSigned(cert, key, 24*time.Hour, "localhost"); err != nil {
		t.Fatal(err)
	}
	addrs, stderr, stop := startServe(t, fmt.Sprintf("[tls]\ncert_file = %q\nkey_file = %q\n[http]\nlisten = \"127.0.0.1:0\"\nlisten_tls = \"127.0.0.1:0\"\n", cert, key))
	before := certExpiry(t, addrs["http"])
	httpsOld := httpsLeaf(t, addrs["https"])
	old, oldLeaf := startTLS(t, addrs["submission"])

	if err := tlsconf.WriteSelfSigned(cert, key, 48*time.Hour, "localhost"); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog(t, stderr, "TLS certificate reloaded")
	after := certExpiry(t, addrs["http"])
	if after == before {
		t.Errorf("certificate expiry %s unchanged after SIGHUP with a new certificate", after)
	}
	fresh, leaf := startTLS(t, addrs["submission"])
	if leaf.Equal(oldLeaf) {
		t.Errorf("STARTTLS after SIGHUP still served the old certificate")
	}
	if httpsLeaf(t, addrs["https"]).Equal(httpsOld) {
		t.Errorf("HTTPS after SIGHUP still served the old certificate")
	}
	if err := old.Noop(); err != nil {
		t.Errorf("the TLS session opened before SIGHUP was dropped: %v", err)
	}
	old.Quit()
	fresh.Quit()

	os.WriteFile(key, []byte("garbage"), 0o600)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog(t, stderr, "TLS certificate not reloaded")
	if got := certExpiry(t, addrs["http"]); got != after {
		t.Errorf("expiry after a failed reload = %s, want the previous %s", got, after)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exit code = %d, want 0:\n%s", code, stderr.String())
	}
}
