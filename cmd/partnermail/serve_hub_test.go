package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TestCommandWakesServe: on SQLite, a staff message sent with the CLI (a
// second process) reaches an IDLE session of the running serve through
// the events file, without waiting for a poll.
func TestCommandWakesServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary; skipped with -short")
	}
	dir := t.TempDir()
	conf := procConfig(t, dir, "", "", "")
	setupCompany(t, conf, 10)
	p := startProc(t, conf)
	exists := make(chan uint32, 16)
	c := imapLogin(t, p.addr(t, "imap"), &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	})
	if _, err := c.Select("Sent", nil).Wait(); err != nil {
		t.Fatalf("SELECT INBOX: %v", err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	body := filepath.Join(dir, "body.txt")
	os.WriteFile(body, []byte("Hello team.\n"), 0o600)
	pm(t, conf, "", "message", "send", "--company", "acme", "--team", "Team 0", "--from", fxStaff, "--subject", "Hello", "--body-file", body)
	select {
	case n := <-exists:
		t.Logf("IDLE session saw EXISTS %d", n)
	case <-time.After(20 * time.Second): // the IDLE sessions' own fallback poll is slower
		ev, _ := os.ReadFile(filepath.Join(dir, "events"))
		c2 := imapLogin(t, p.addr(t, "imap"), nil)
		sd, err := c2.Select("Sent", nil).Wait()
		t.Logf("events file %q; Sent now: %+v %v", ev, sd, err)
		t.Fatal("the IDLE session never learnt of the message sent by the CLI")
	}
	idle.Close()
	idle.Wait()
	p.stop()
}
