package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestServeSubmission drives the submission listener of `serve --demo`
// with a go-smtp client: a new team conversation is accepted, a relay
// attempt and a team in a disabled group are refused with their reasons,
// and the metrics count them.
func TestServeSubmission(t *testing.T) {
	addrs, stderr, _ := startServe(t, "", "--demo")
	m := regexp.MustCompile(`manager@demo.localhost  password (\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no demo password in:\n%s", stderr.String())
	}
	c, err := smtp.Dial(addrs["submission"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Dev mode: plain AUTH on loopback.
	if err := c.Auth(sasl.NewPlainClient("", "manager@demo.localhost", m[1])); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.Mail("manager@demo.localhost", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("stranger@example.org", nil); err == nil || !strings.Contains(err.Error(), "not a partner of this program") {
		t.Errorf("RCPT outsider: %v, want 550 not a partner of this program", err)
	}
	if err := c.Rcpt("di@fabrikam.localhost", nil); err == nil || !strings.Contains(err.Error(), "please write to support@demo.localhost") {
		t.Errorf("RCPT member of a disabled group: %v, want the group's redirect text", err)
	}
	if err := c.Rcpt("team+northwind@partners.demo.localhost", nil); err != nil {
		t.Fatalf("RCPT team: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: Dana <manager@demo.localhost>\r\nTo: team+northwind@partners.demo.localhost\r\nSubject: Welcome\r\n\r\nHello Northwind\r\n")
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	c.Quit()

	resp, err := http.Get("http://" + addrs["http"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`partnermail_submission_events_total{event="login_ok"} 1`, `partnermail_submission_events_total{event="posted"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
