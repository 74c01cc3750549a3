package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestServeMetrics drives each service once and checks that /metrics has
// every figure the operations issue asks for.
func TestServeMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary; skipped with -short")
	}
	dir := t.TempDir()
	conf := procConfig(t, dir, "", "", "")
	setupCompany(t, conf, 10)
	p := startProc(t, conf)

	if err := sendInbound(p.addr(t, "smtp"), memberAddr(1), "m-1@team.localhost", "Hello"); err != nil {
		t.Fatalf("inbound: %v", err)
	}
	if err := sendInbound(p.addr(t, "smtp"), memberAddr(1), "m-2@team.localhost", "Hello"); err != nil {
		t.Fatalf("inbound: %v", err)
	}
	// Refused at RCPT: not our domain.
	sc, err := smtp.Dial(p.addr(t, "smtp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Mail(memberAddr(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := sc.Rcpt("someone@elsewhere.example", nil); err == nil {
		t.Fatal("relay to another domain accepted")
	}
	sc.Close()
	// A failed submission login.
	sc, err = smtp.Dial(p.addr(t, "submission"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Auth(sasl.NewPlainClient("", fxStaff, "wrong password")); err == nil {
		t.Fatal("submission AUTH with a wrong password succeeded")
	}
	sc.Close()
	c, err := imapclient.DialInsecure(p.addr(t, "imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(fxStaff, "wrong password").Wait(); err == nil {
		t.Fatal("LOGIN with a wrong password succeeded")
	}
	c.Close()
	c = imapLogin(t, p.addr(t, "imap"), nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT: %v", err)
	}

	metrics := p.metrics(t)
	for _, want := range []string{
		"partnermail_smtp_messages_accepted_total 2",         // inbound accepted
		"partnermail_smtp_message_size_bytes_count 2",        // message sizes
		"partnermail_smtp_refused_total",                     // refused, by reason
		"partnermail_outbound_queue_depth ",                  // queue depth
		"partnermail_outbound_queue_oldest_seconds ",         // queue age
		`partnermail_outbound_attempts_total{result="sent"}`, // delivery attempts by result
		`partnermail_outbound_attempts_total{result="deferred"}`,
		"partnermail_imap_sessions 1",                                // IMAP sessions
		`partnermail_imap_command_seconds_count{command="SELECT"} 1`, // IMAP command latency
		`partnermail_imap_logins_total{result="failed"} 1`,           // login failures
		`partnermail_imap_logins_total{result="ok"} 1`,
		`partnermail_submission_events_total{event="login_failed"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The two inbound messages reach the ENVELOPE cache in the
	// background, woken by their delivery.
	for _, want := range []string{"partnermail_imap_envelope_warmup_done 1", "partnermail_imap_envelopes_warmed_total 2"} {
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(metrics, want); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("/metrics lacks %s after 10 s", want)
			}
			metrics = p.metrics(t)
		}
	}
	c.Logout()
	p.stop()
}

// metrics reads the process's /metrics page.
func (p *proc) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + p.addr(t, "http") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
