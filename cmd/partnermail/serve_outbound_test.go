package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestServeCaptureUnsubscribeQueue runs serve in capture mode: a staff
// message to a member becomes an .eml file in <data_dir>/outbox, listed by
// queue list --sent; its one-click unsubscribe link (RFC 8058) works over
// HTTP, a forged one does not; queue retry and drop act on failed and
// queued emails.
func TestServeCaptureUnsubscribeQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary; skipped with -short")
	}
	dir := t.TempDir()
	conf := procConfig(t, dir, "", "", "")
	setupCompany(t, conf, 3)
	p := startProc(t, conf)
	body := filepath.Join(dir, "body.txt")
	os.WriteFile(body, []byte("Hello Member 0, the new price list is out.\n"), 0o600)
	pm(t, conf, "", "message", "send", "--company", "acme", "--member", memberAddr(0), "--from", fxStaff,
		"--subject", "Price list", "--body-file", body)

	outbox := filepath.Join(dir, "outbox")
	var captured []outbound.Captured
	waitFor(t, 60*time.Second, "the captured email", func() bool {
		captured, _ = outbound.ListCaptured(outbox)
		return len(captured) > 0
	})
	if len(captured) != 1 || captured[0].To != memberAddr(0) || !strings.HasPrefix(captured[0].From, "bounce+") || captured[0].Subject != "Price list" {
		t.Fatalf("captured %+v, want one email to %s from bounce+…", captured, memberAddr(0))
	}
	var listed []queueRow
	json.Unmarshal([]byte(pm(t, conf, "", "--json", "queue", "list", "--sent")), &listed)
	if len(listed) != 1 || listed[0].File != captured[0].Path || listed[0].Rcpt != memberAddr(0) {
		t.Errorf("queue list --sent = %+v, want the captured email with its file", listed)
	}

	raw, err := os.ReadFile(captured[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<https?://[^>]*/unsubscribe/([a-z2-7]+)>`).FindSubmatch(raw)
	if m == nil || !strings.Contains(string(raw), "List-Unsubscribe-Post: List-Unsubscribe=One-Click") {
		t.Fatalf("no one-click List-Unsubscribe in:\n%s", raw)
	}
	link := "http://" + p.addr(t, "http") + "/unsubscribe/" + string(m[1])
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	co, _ := st.CompanyBySlug(context.Background(), "acme")
	notifications := func() bool {
		mem, err := st.MemberByEmail(context.Background(), co.ID, memberAddr(0))
		if err != nil {
			t.Fatal(err)
		}
		return mem.EmailNotifications
	}

	// A GET (a person, or a link scanner) shows a form and changes nothing.
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), `<form method="post">`) || !strings.Contains(string(page), memberAddr(0)) {
		t.Errorf("GET %s = %d:\n%s", link, res.StatusCode, page)
	}
	if !notifications() {
		t.Fatal("a GET turned notifications off")
	}
	// A forged token is refused.
	forged := link[:len(link)-2] + "aa"
	res, err = http.PostForm(forged, url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 || !notifications() {
		t.Errorf("POST with a forged token = %d, notifications %v; want 404, still on", res.StatusCode, notifications())
	}
	// The one-click POST of RFC 8058 section 3.2.
	res, err = http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "notifications are off") {
		t.Errorf("one-click POST = %d:\n%s", res.StatusCode, page)
	}
	if notifications() {
		t.Error("notifications still on after the one-click POST")
	}

	// queue drop and retry, with serve stopped so the email stays queued.
	p.stop()
	pm(t, conf, "", "message", "send", "--company", "acme", "--member", memberAddr(1), "--from", fxStaff,
		"--subject", "Second", "--body-file", body)
	var rows []queueRow
	json.Unmarshal([]byte(pm(t, conf, "", "--json", "queue", "list", "--company", "acme")), &rows)
	if len(rows) != 1 || rows[0].State != "queued" || rows[0].Rcpt != memberAddr(1) {
		t.Fatalf("queue list = %+v, want the queued email to %s", rows, memberAddr(1))
	}
	id := strconv.FormatInt(rows[0].ID, 10)
	if out := pm(t, conf, "", "queue", "drop", id); !strings.Contains(out, "dropped") {
		t.Errorf("queue drop: %q", out)
	}
	if out := pm(t, conf, "", "queue", "list"); strings.Contains(out, memberAddr(1)) {
		t.Errorf("queue list after drop still shows it:\n%s", out)
	}
	pm(t, conf, "", "queue", "retry", id)
	p = startProc(t, conf)
	waitFor(t, 60*time.Second, "the retried email", func() bool {
		c, _ := outbound.ListCaptured(outbox)
		return len(c) == 2
	})
	if out := pm(t, conf, "", "queue", "retry", "--all-failed"); !strings.Contains(out, "0 email(s)") {
		t.Errorf("queue retry --all-failed with none failed: %q", out)
	}
	p.stop()
}
