package main

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/tlsconf"
)

// TestE2ESentKeywordsLive: a staff message whose notification the relay
// refuses shows $Queued in Sent while the relay holds it, then $Bounced,
// pushed to an IMAP session in IDLE: a failed delivery is never silent.
func TestE2ESentKeywordsLive(t *testing.T) {
	relay := newE2ESink(t)
	release := make(chan struct{})
	relay.refuse["zed@zeta.localhost"] = release
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsconf.WriteSelfSigned(cert, key, time.Hour, "localhost", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	conf := procConfig(t, dir, "", relay.addr, fmt.Sprintf("[tls]\ncert_file = %q\nkey_file = %q\n", cert, key))
	cli := &env{t: t, cfg: conf, dir: dir}
	cli.ok("", "migrate")
	cli.ok("", "company", "add", "--slug", "acme", "--name", "Acme", "--domain", "partners.acme.localhost")
	cli.ok("pat-password-1\n", "staff", "add", "--company", "acme", "--email", "pat@acme.localhost", "--name", "Pat Manager")
	cli.ok("", "group", "add", "--company", "acme", "--name", "Resellers")
	cli.ok("", "partner", "import", "--company", "acme", cli.file("p.csv", header+
		"Zeta,Resellers,,approved,zed@zeta.localhost,Zed Zeta,true\n"))
	gw := startProc(t, conf)

	flags := make(chan []imap.Flag, 16)
	exists := make(chan uint32, 16)
	c, err := imapclient.DialInsecure(gw.addr(t, "imap"), &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
		Fetch: func(m *imapclient.FetchMessageData) {
			if buf, err := m.Collect(); err == nil && buf.Flags != nil {
				flags <- buf.Flags
			}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("pat@acme.localhost", "pat-password-1").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}

	sub, err := smtp.DialStartTLS(gw.addr(t, "submission"), &tls.Config{InsecureSkipVerify: true}) // self-signed test certificate
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Auth(sasl.NewPlainClient("", "pat@acme.localhost", "pat-password-1")); err != nil {
		t.Fatal(err)
	}
	msg := "From: Pat Manager <pat@acme.localhost>\r\nTo: zed@zeta.localhost\r\nSubject: Hello Zed\r\n\r\nAre you there?\r\n"
	if err := sub.SendMail("pat@acme.localhost", []string{"zed@zeta.localhost"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("submission: %v", err)
	}
	sub.Quit()

	// IDLE announces the new message; the relay holds its notification.
	select {
	case n := <-exists:
		if n != 1 {
			t.Fatalf("EXISTS %d, want 1", n)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no EXISTS in IDLE within 60s")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(got) != 1 {
		t.Fatalf("FETCH FLAGS: %v, %v", got, err)
	}
	if !slices.Contains(got[0].Flags, imap.Flag("$Queued")) {
		t.Fatalf("flags while the relay holds the email = %v, want $Queued", got[0].Flags)
	}
	for len(flags) > 0 {
		<-flags
	}
	if idle, err = c.Idle(); err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	// The relay refuses it for good: the session in IDLE is told.
	close(release)
	for deadline := time.After(60 * time.Second); ; {
		select {
		case f := <-flags:
			if slices.Contains(f, imap.Flag("$Bounced")) {
				if slices.Contains(f, imap.Flag("$Queued")) {
					t.Errorf("flags %v: one delivery keyword at a time", f)
				}
				return
			}
		case <-deadline:
			t.Fatal("IDLE did not report $Bounced within 60s")
		}
	}
}
