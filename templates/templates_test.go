package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func render(t *testing.T, s *Set, slug, name string, data any) (string, string) {
	t.Helper()
	text, html, err := s.Render(slug, name, data)
	if err != nil {
		t.Fatalf("Render(%q, %q): %v", slug, name, err)
	}
	return text, html
}

func TestDefaults(t *testing.T) {
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	text, html := render(t, s, "acme", NotificationName, samples[NotificationName])
	for _, want := range []string{"Pat Manager (Example Inc.) wrote:", "Hello Ann,\n\nwelcome aboard.",
		"guide.pdf (123.5 kB)", "Reply to this email", "Ann wrote:\n> Hi there", "\n-- \n",
		"https://partners.example/unsubscribe/t", "unsubscribe+t@partners.example"} {
		if !strings.Contains(text, want) {
			t.Errorf("notification text lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"<strong>Pat Manager</strong>", "<p>Hello Ann,</p>", "<li>guide.pdf (123.5 kB)</li>",
		"<blockquote", `href="https://partners.example/unsubscribe/t"`} {
		if !strings.Contains(html, want) {
			t.Errorf("notification HTML lacks %q:\n%s", want, html)
		}
	}
	text, _ = render(t, s, "acme", CampaignName, samples[CampaignName])
	if !strings.Contains(text, "Replies to this email are not read. Write to support@example.com") {
		t.Errorf("campaign text for a disabled group lacks the redirect:\n%s", text)
	}
	c := samples[CampaignName].(Campaign)
	c.RepliesRefused = false
	text, _ = render(t, s, "acme", CampaignName, c)
	if !strings.Contains(text, "Reply to this email") || strings.Contains(text, "not read") {
		t.Errorf("campaign text for an enabled group:\n%s", text)
	}
	if _, _, err := s.Render("acme", "nope", c); err == nil {
		t.Error("Render of an unknown template: no error")
	}
}

func TestHTMLEscaping(t *testing.T) {
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	n := samples[NotificationName].(Notification)
	n.Author = `Eve <b>"bold"</b> & co`
	n.Text = "<script>alert(1)</script>\nline 2"
	n.Attachments = []Attachment{{Name: `<img src=x onerror=alert(1)>.pdf`, Size: 1}}
	n.Previous = &Quote{Author: "<i>Ann</i>", Text: "</blockquote><script>x</script>"}
	n.Unsubscribe.URL = `javascript:alert(1)`
	text, html := render(t, s, "acme", NotificationName, n)
	for _, bad := range []string{"<script>", "<b>", "<img", "<i>", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains %q unescaped:\n%s", bad, html)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;<br>\nline 2", "Eve &lt;b&gt;&#34;bold&#34;&lt;/b&gt; &amp; co"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
	if !strings.Contains(text, "<script>alert(1)</script>\nline 2") {
		t.Errorf("text part is not verbatim:\n%s", text)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOverridePrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "acme", "notification.txt"), "ACME {{.Author}}: {{.Text}}")
	writeFile(t, filepath.Join(dir, "acme", "campaign.html"), "<p>ACME {{.Text}}</p>")
	writeFile(t, filepath.Join(dir, "acme", "README.md"), "ignored")
	writeFile(t, filepath.Join(dir, "beta", "notification.html"), "<p>BETA {{.Text}}</p>")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := samples[NotificationName].(Notification)
	n.Text = "<hi>"
	tests := []struct {
		slug, name         string
		wantText, wantHTML string // prefixes
	}{
		{"acme", NotificationName, "ACME Pat Manager: <hi>", "<!DOCTYPE html>"},
		{"acme", CampaignName, "<hi>", "<p>ACME &lt;hi&gt;</p>"},
		{"beta", NotificationName, "Pat Manager (Example Inc.) wrote:", "<p>BETA &lt;hi&gt;</p>"},
		{"other", NotificationName, "Pat Manager (Example Inc.) wrote:", "<!DOCTYPE html>"},
	}
	for _, tc := range tests {
		var data any = n
		if tc.name == CampaignName {
			c := samples[CampaignName].(Campaign)
			c.Text = n.Text
			data = c
		}
		text, html := render(t, s, tc.slug, tc.name, data)
		if !strings.HasPrefix(text, tc.wantText) || !strings.HasPrefix(html, tc.wantHTML) {
			t.Errorf("Render(%q, %q) = %q, %q; want prefixes %q, %q", tc.slug, tc.name, text, html, tc.wantText, tc.wantHTML)
		}
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		file, src string
		want      []string // in the error text
	}{
		{"acme/notification.txt", "ok\n{{.Text", []string{"acme/notification.txt:2", "unclosed action"}},
		{"acme/notification.html", "<p>\n\n{{.Nope}}</p>", []string{"acme/notification.html:3", "Nope"}},
		{"acme/campaign.txt", "{{.Previous}}", []string{"acme/campaign.txt:1", "Previous"}},
		{"acme/campaign.html", "{{frobnicate .Text}}", []string{"acme/campaign.html:1", "frobnicate"}},
		{"acme/notifcation.txt", "x", []string{"acme/notifcation.txt", `unknown template "notifcation"`}},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, tc.file), tc.src)
		_, err := New(dir)
		if err == nil {
			t.Errorf("New with %s = %q: no error", tc.file, tc.src)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New with %s = %q: error %q lacks %q", tc.file, tc.src, err, w)
			}
		}
	}
	if _, err := New(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("New with a missing folder: no error")
	}
}

func TestQuoteAndParagraphs(t *testing.T) {
	quote := funcs["quote"].(func(string) string)
	paragraphs := funcs["paragraphs"].(func(string) [][]string)
	if got, want := quote("a\n\n> b\nc\n"), "> a\n>\n>> b\n> c"; got != want {
		t.Errorf("quote = %q, want %q", got, want)
	}
	got := paragraphs("\n a\nb\n\n\nc\n")
	if len(got) != 2 || strings.Join(got[0], "|") != "a|b" || strings.Join(got[1], "|") != "c" {
		t.Errorf("paragraphs = %q", got)
	}
}

func TestLinks(t *testing.T) {
	tests := []struct {
		in   string
		want string // segments as text|URL, joined by " + "
	}{
		{"no links here", "no links here|"},
		{"see https://acme.example/help.", "see |" + " + https://acme.example/help|https://acme.example/help + .|"},
		{"(http://a.example/x?y=1), then", "(| + http://a.example/x?y=1|http://a.example/x?y=1 + ), then|"},
		{"https://", "https://|"},
		{"xhttps://a.example", "xhttps://a.example|"},
		{"a http://b.example c https://d.example", "a | + http://b.example|http://b.example +  c | + https://d.example|https://d.example"},
		{"", ""},
	}
	for _, tc := range tests {
		var parts []string
		for _, s := range links(tc.in) {
			parts = append(parts, s.Text+"|"+s.URL)
		}
		if got := strings.Join(parts, " + "); got != tc.want {
			t.Errorf("links(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHTMLLinks(t *testing.T) {
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	n := samples[NotificationName].(Notification)
	n.Text = `Docs: https://acme.example/a?b=1&c="x" and javascript:alert(1) <https://e.example/>`
	_, html := render(t, s, "acme", NotificationName, n)
	for _, want := range []string{`<a href="https://acme.example/a?b=1&amp;c=">https://acme.example/a?b=1&amp;c=</a>`,
		`javascript:alert(1) &lt;<a href="https://e.example/">https://e.example/</a>&gt;`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
	c := samples[CampaignName].(Campaign)
	c.Redirect = "Please open https://acme.example/help."
	_, html = render(t, s, "acme", CampaignName, c)
	if !strings.Contains(html, `Please open <a href="https://acme.example/help">https://acme.example/help</a>.`) {
		t.Errorf("campaign HTML does not link the redirect:\n%s", html)
	}
}
