package smtpd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/smtpd/authcheck"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

func TestExtensions(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.MaxMessageBytes = 1 << 20 })
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.partner.example"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("EHLO does not advertise %s", ext)
		}
	}
	if ok, p := c.Extension("SIZE"); !ok || p != "1048576" {
		t.Errorf("SIZE = %v %q, want 1048576", ok, p)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised without a certificate")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH advertised on the inbound listener")
	}
}

func TestSizeLimit(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.MaxMessageBytes = 64 << 10 })
	th, _ := e.staffThread(e.f.Acme, wholeTeam)
	to := e.replyAddr(th, e.f.Ann)
	err := sendMail(e.addr, e.f.Ann.Email, &smtp.MailOptions{Size: 100 << 10}, []string{to}, "x")
	wantCode(t, "MAIL SIZE=100K", err, 552, smtp.EnhancedCode{5, 3, 4})
	before := e.snapshot()
	big := mail(e.f.Ann.Email, to, "Re: Q4", strings.Repeat("0123456789abcdef\n", 8000))
	err = e.send(e.f.Ann.Email, []string{to}, big)
	wantCode(t, "128K DATA", err, 552, smtp.EnhancedCode{5, 3, 4})
	e.nothingStored("over SIZE", before)
}

func TestMaxRecipients(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.MaxRecipients = 2 })
	a, _ := e.staffThread(e.f.Acme, wholeTeam)
	b, _ := e.staffThread(e.f.Acme, e.f.Ann)
	c, _ := e.staffThread(e.f.Acme, e.f.Bob)
	err := e.send(e.f.Ann.Email, []string{e.replyAddr(a, e.f.Ann), e.replyAddr(b, e.f.Ann), e.replyAddr(c, e.f.Bob)}, "x")
	wantCode(t, "third recipient", err, 452, smtp.EnhancedCode{4, 5, 3})
}

// TestTwoThreadsOneMessage: one message to two conversations is stored
// in both, from one set of blobs.
func TestTwoThreadsOneMessage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	a, _ := e.staffThread(e.f.Acme, wholeTeam)
	b, _ := e.staffThread(e.f.Acme, e.f.Ann)
	err := e.send(e.f.Ann.Email, []string{e.replyAddr(a, e.f.Ann), e.replyAddr(b, e.f.Ann)}, mail(e.f.Ann.Email, "x", "Re", "Both."))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.messages(a.ID)) != 2 || len(e.messages(b.ID)) != 2 {
		t.Error("the message is not in both threads")
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.MaxConnsPerIP, c.LimitLoopback = 2, true })
		dialRaw(t, e.addr)
		dialRaw(t, e.addr)
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 512)
		n, _ := c.Read(buf)
		if !strings.HasPrefix(string(buf[:n]), "421 4.7.0 ") {
			t.Errorf("third connection got %q, want 421 4.7.0", buf[:n])
		}
	})
	t.Run("rate per address", func(t *testing.T) {
		e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.ConnRate, c.ConnBurst, c.LimitLoopback = 0.001, 3, true })
		for i := 0; i < 3; i++ {
			c, _ := dialRaw(t, e.addr)
			c.Close()
		}
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 512)
		n, _ := c.Read(buf)
		if !strings.HasPrefix(string(buf[:n]), "421 4.7.0 ") || !strings.Contains(string(buf[:n]), "slow down") {
			t.Errorf("fourth connection got %q, want 421 4.7.0 … slow down", buf[:n])
		}
	})
	t.Run("loopback exempt by default", func(t *testing.T) {
		e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.MaxConnsPerIP, c.ConnRate, c.ConnBurst = 1, 0.001, 1 })
		for i := 0; i < 4; i++ {
			dialRaw(t, e.addr) // each reads a 220 greeting or fails
		}
	})
	t.Run("total", func(t *testing.T) {
		e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.MaxConns = 1 })
		dialRaw(t, e.addr)
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 512)
		n, _ := c.Read(buf)
		if !strings.HasPrefix(string(buf[:n]), "421 4.3.2 ") {
			t.Errorf("second connection got %q, want 421 4.3.2", buf[:n])
		}
	})
}

// selfSigned returns a TLS config for mx.test.example.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test.example"},
		DNSNames: []string{"mx.test.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestStartTLS(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.TLS = selfSigned(t) })
	th, _ := e.staffThread(e.f.Acme, wholeTeam)
	to := e.replyAddr(th, e.f.Ann)
	c, err := smtp.DialStartTLS(e.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(e.f.Ann.Email, []string{to}, strings.NewReader(mail(e.f.Ann.Email, to, "Re", "Over TLS."))); err != nil {
		t.Fatal(err)
	}
	if state, ok := c.TLSConnectionState(); !ok || !state.HandshakeComplete {
		t.Error("not encrypted")
	}
	if n := len(e.messages(th.ID)); n != 2 {
		t.Errorf("thread has %d messages, want 2", n)
	}
	// A large message on the same connection: past readBufAfter the
	// connection's reads are buffered underneath TLS.
	pdf := pdfBytes(3 << 20)
	ct, body := withFiles("Signed.", "signed.pdf", "application/pdf", pdf)
	msg := mail(e.f.Ann.Email, to, "Re", body, "MIME-Version: 1.0", ct, "Message-ID: <tls-big@acme-acme.example>")
	if err := c.SendMail(e.f.Ann.Email, []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	ms := e.messages(th.ID)
	if len(ms) != 3 || len(ms[2].Attachments) != 1 {
		t.Fatalf("thread has %d messages, the last with attachments %+v; want 3, one PDF", len(ms), ms[len(ms)-1].Attachments)
	}
	if got := e.readBlob(ms[2].Attachments[0].BlobKey); !bytes.Equal(got, pdf) {
		t.Errorf("attachment over TLS differs from the PDF sent (%d bytes, want %d)", len(got), len(pdf))
	}
	if got := e.readBlob(ms[2].RawKey); string(got) != msg {
		t.Errorf("raw message over TLS not stored byte-exact (%d bytes, want %d)", len(got), len(msg))
	}
}

// nxResolver knows no name: SPF, DKIM and DMARC all come out "none".
type nxResolver struct{}

func nx(name string) error { return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true} }

func (nxResolver) LookupTXT(_ context.Context, n string) ([]string, error) { return nil, nx(n) }
func (nxResolver) LookupMX(_ context.Context, n string) ([]*net.MX, error) { return nil, nx(n) }
func (nxResolver) LookupIPAddr(_ context.Context, n string) ([]net.IPAddr, error) {
	return nil, nx(n)
}
func (nxResolver) LookupAddr(_ context.Context, n string) ([]string, error) { return nil, nx(n) }

func TestAuthResultsRecorded(t *testing.T) {
	chk, err := authcheck.New(authcheck.Config{AuthServID: "mx.test.example", Mode: authcheck.ModeRecord, Resolver: nxResolver{}})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, sqlstore.SQLite, func(c *Config) { c.Auth = chk })
	th, _ := e.staffThread(e.f.Acme, wholeTeam)
	to := e.replyAddr(th, e.f.Ann)
	forged := "Authentication-Results: mx.test.example; dmarc=pass header.from=acme-acme.example"
	if err := e.send(e.f.Ann.Email, []string{to}, mail(e.f.Ann.Email, to, "Re", "Checked.", forged)); err != nil {
		t.Fatal(err)
	}
	m := e.messages(th.ID)[1]
	if !strings.HasPrefix(m.AuthResults, "mx.test.example;") || !strings.Contains(m.AuthResults, "spf=none") ||
		strings.Contains(m.AuthResults, "dmarc=pass") {
		t.Errorf("AuthResults = %q, want our own verdict (spf=none), not the forged one", m.AuthResults)
	}
}
