package outbound

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestCapture runs the worker with the capture transport: one .eml file
// per email, with its envelope, listed by ListCaptured; an email captured
// twice (a retry after a crash) is one file; no temporary file is left.
func TestCapture(t *testing.T) {
	env := newWkEnv(t, sqlstore.SQLite)
	dir := filepath.Join(t.TempDir(), "outbox")
	capt, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	emails := env.queue(t, 0, env.f.Ann, env.f.Bob)
	flush(t, env.worker(t, WorkerConfig{Transport: capt}))

	got, err := ListCaptured(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("ListCaptured = %d emails, want 2", len(got))
	}
	byTo := map[string]Captured{}
	for _, c := range got {
		byTo[c.To] = c
	}
	for _, e := range emails {
		c, ok := byTo[e.Rcpt]
		if !ok {
			t.Fatalf("no captured email to %s in %+v", e.Rcpt, got)
		}
		if want := "email-" + itoa(e.ID) + "@partners.a.example"; c.MessageID != want || filepath.Base(c.Path) != want+".eml" {
			t.Errorf("captured %+v, want Message-ID %s in %s.eml", c, want, want)
		}
		if c.From != "bounce+"+itoa(e.ID)+"@partners.a.example" || c.Subject != "Email "+itoa(e.ID) || c.Date.IsZero() {
			t.Errorf("captured %+v", c)
		}
		raw, err := os.ReadFile(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(raw), "Return-Path: <bounce+") || !strings.Contains(string(raw), "Hello "+e.Rcpt) {
			t.Errorf("captured file %s:\n%s", c.Path, raw)
		}
		if r := env.row(t, e.ID); r.State != storage.QueueSent {
			t.Errorf("email %d: %s, want sent", e.ID, r.State)
		}
	}
	// Sent again: the same file.
	em, err := stubComposer{domain: "partners.a.example"}.Compose(context.Background(), emails[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := capt.Send(context.Background(), em); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		names := []string{}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("capture folder holds %v, want the 2 emails only", names)
	}
	if none, err := ListCaptured(filepath.Join(dir, "missing")); err != nil || len(none) != 0 {
		t.Errorf("ListCaptured(missing folder) = %v, %v", none, err)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
