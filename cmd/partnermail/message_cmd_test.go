package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/internal/config"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// store opens the env's database for assertions; close it before the
// next CLI run on SQLite.
func (e *env) store() *sqlstore.Store {
	e.t.Helper()
	c, err := config.Load(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{Driver: c.Storage.Driver, DSN: c.Storage.DSN, DataDir: c.Storage.DataDir})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// outboundSetup creates acme with a staff author, an enabled and a
// disabled group and three teams.
func outboundSetup(e *env) {
	e.ok("", "migrate")
	e.ok("", "company", "add", "--slug", "acme", "--name", "Acme", "--domain", "partners.acme.example")
	e.ok("", "company", "add", "--slug", "globex", "--name", "Globex", "--domain", "partners.globex.example")
	e.ok("long-password-1\n", "staff", "add", "--company", "acme", "--email", "pm@acme.example", "--name", "Pat Manager")
	e.ok("long-password-2\n", "staff", "add", "--company", "globex", "--email", "pm@globex.example", "--name", "Glo")
	e.ok("", "group", "add", "--company", "acme", "--name", "Resellers")
	e.ok("", "group", "add", "--company", "acme", "--name", "Affiliates")
	e.ok("", "partner", "import", "--company", "acme", e.file("p.csv", header+
		"Northwind,Resellers,pm@acme.example,approved,ana@northwind.example,Ana,true\n"+
		"Northwind,Resellers,pm@acme.example,approved,bo@northwind.example,Bo,false\n"+
		"Fabrikam,Affiliates,,pending,di@fabrikam.example,Di,yes\n"+
		"Contoso,Resellers,,approved,cy@contoso.example,Cy,no\n"))
	e.ok("", "group", "disable", "--company", "acme", "--group", "Affiliates", "--message", "Please write to support@acme.example")
}

func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const pdfBytes = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

func TestCLIMessageSend(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, driver)
			outboundSetup(e)
			body := e.file("body.txt", "Hello Northwind,\n\nthe new price list is attached.\n\nPat\n")
			img := e.file("chart.png", string(pngBytes(t)))
			pdf := e.file("price list, 2027.pdf", pdfBytes)
			send := []string{"message", "send", "--company", "acme", "--from", "pm@acme.example", "--subject", "Price list", "--body-file", body}

			out := e.ok("", append(send, "--json", "--team", "Northwind", "--attach", img, "--attach", pdf)...)
			var sent messageSent
			if err := json.Unmarshal([]byte(out), &sent); err != nil || sent.ThreadID == 0 || sent.Attachments != 2 {
				t.Fatalf("message send --json = %s (%v), want a thread and 2 attachments", out, err)
			}
			// By slug, and to a member whose notifications are off: recorded all the same.
			plain := strings.TrimSpace(e.ok("", append(send, "--team", "contoso")...))
			member := strings.TrimSpace(e.ok("", append(send, "--member", "BO@northwind.example")...))
			if plain == "" || member == "" || strings.ContainsAny(plain+member, " \n") {
				t.Errorf("message send printed %q and %q, want a bare thread id each", plain, member)
			}

			s := e.store()
			ctx := context.Background()
			co, _ := s.CompanyBySlug(ctx, "acme")
			msgs, err := s.ThreadMessages(ctx, co.ID, sent.ThreadID)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("thread %d messages = %v, %v", sent.ThreadID, msgs, err)
			}
			m := msgs[0]
			if m.Direction != storage.DirectionOut || m.Subject != "Price list" || m.FromAddr != "pm@acme.example" ||
				!strings.HasPrefix(m.Text, "Hello Northwind,") || !strings.HasSuffix(m.Text, "Pat") {
				t.Errorf("stored message = %+v", m)
			}
			want := map[string]string{"chart.png": string(pngBytes(t)), "price list, 2027.pdf": pdfBytes}
			types := map[string]string{"chart.png": "image/png", "price list, 2027.pdf": "application/pdf"}
			if len(m.Attachments) != 2 {
				t.Fatalf("attachments = %+v, want 2", m.Attachments)
			}
			for _, a := range m.Attachments {
				b, err := s.Blobs().Open(ctx, a.BlobKey)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(b)
				b.Close()
				if string(got) != want[a.Filename] || a.ContentType != types[a.Filename] {
					t.Errorf("attachment %q (%s) = %d bytes, want %d bytes of %s, byte-identical", a.Filename, a.ContentType, len(got), len(want[a.Filename]), types[a.Filename])
				}
			}
			raw, err := s.Blobs().Open(ctx, m.RawKey)
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := io.ReadAll(raw)
			raw.Close()
			if h := string(rb[:bytes.Index(rb, []byte("\r\n\r\n"))]); !strings.Contains(h, "To: <team+northwind@partners.acme.example>") ||
				!strings.Contains(h, `From: "Pat Manager" <pm@acme.example>`) || !strings.Contains(h, "Message-ID: <"+m.MessageID+">") {
				t.Errorf("raw message header:\n%s", h)
			}
			th, _ := s.Threads(ctx, co.ID)
			s.Close()
			if len(th) != 3 {
				t.Errorf("%d threads, want 3", len(th))
			}

			// Refusals: one clear line, nothing recorded.
			e.fails(`messaging is disabled for partner group "Affiliates": Please write to support@acme.example`, "", append(send, "--team", "Fabrikam")...)
			e.fails(`messaging is disabled for partner group "Affiliates"`, "", append(send, "--member", "di@fabrikam.example")...)
			exe := e.file("setup.exe", "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"+strings.Repeat("\x00", 100))
			e.fails(`message not sent: attachment "setup.exe" is application/`, "", append(send, "--team", "Northwind", "--attach", exe)...)
			many := append(send, "--team", "Northwind")
			for i := 0; i < 11; i++ {
				many = append(many, "--attach", e.file(filepath.Base(pdf)+string(rune('a'+i))+".pdf", pdfBytes))
			}
			e.fails("at most 10 attachments", "", many...)
			e.fails(`team "Nowhere"`, "", append(send, "--team", "Nowhere")...)
			e.fails(`member "nobody@x.example"`, "", append(send, "--member", "nobody@x.example")...)
			e.fails(`staff "pm@globex.example" of acme`, "", "message", "send", "--company", "acme", "--from", "pm@globex.example",
				"--subject", "x", "--body-file", body, "--team", "Northwind")
			e.fails("give --team or --member", "", send...)
			e.fails("is empty", "", "message", "send", "--company", "acme", "--from", "pm@acme.example", "--subject", "x",
				"--body-file", e.file("empty.txt", "\n"), "--team", "Northwind")
			s = e.store()
			defer s.Close()
			if th, _ := s.Threads(ctx, co.ID); len(th) != 3 {
				t.Errorf("refused sends left %d threads, want 3", len(th))
			}
		})
	}
}
