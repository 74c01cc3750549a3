package threading

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestExtractCorpus runs every testdata/replies/NAME.txt and NAME.html
// through Extract or ExtractHTML and compares with NAME.txt.want or
// NAME.html.want.
func TestExtractCorpus(t *testing.T) {
	txt, _ := filepath.Glob("testdata/replies/*.txt")
	html, _ := filepath.Glob("testdata/replies/*.html")
	ins := append(txt, html...)
	if len(ins) < 30 {
		t.Fatalf("corpus has %d replies, want at least 30", len(ins))
	}
	for _, in := range ins {
		name := strings.TrimPrefix(in, "testdata/replies/")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ext := strings.TrimPrefix(filepath.Ext(in), ".")
			wantB, err := os.ReadFile(in + ".want")
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(string(wantB), "\n")
			var got string
			switch ext {
			case "txt":
				got = Extract(string(body))
			case "html":
				got = ExtractHTML(string(body))
			default:
				t.Fatalf("unknown input type %q", ext)
			}
			if got != want {
				t.Errorf("Extract(%q) = %q, want %q", body, got, want)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Hello", "Hello"},
		{"Hello\r\n\r\n\r\n\r\nWorld  \r\n", "Hello\n\nWorld"},
		{"> only a quote\n> nothing else", ""},
		{"Sent from my iPhone", ""},
		{"Yes\n--\nJohn", "Yes"},
		{"Yes\n-- \nJohn", "Yes"},
		{"a -- b", "a -- b"},
		{"ok\n\nJohn Smith wrote:\n> hi", "ok"},
		{"I think John wrote:\nsomething good", "I think John wrote:\nsomething good"},
		{"From: me\nnot a header block", "From: me\nnot a header block"},
		{"ok\n\nOn Mon, 4 Mar 2024 at 10:15, Anna <a@b.example> wrote:", "ok"},
		{"ok\n\nOn 4 Mar 2024 Anna wrote:\nunquoted history\n", "ok"},
		{"ok\n___________________\nFrom: A\nSent: B\nTo: C\nSubject: D\n\nold", "ok"},
		{"ok\n\n-----Ursprüngliche Nachricht-----\nVon: A\n", "ok"},
		{"ok\n\n-------- Message d'origine --------\nDe : A\n", "ok"},
		{"ok\n\n-----Mensaje original-----\nDe: A\n", "ok"},
		{"ok\nOn Mon, Mar 4, 2024 at 10:15 AM Anna Schmidt <\nanna@acme.example>\nwrote:\n> q", "ok"},
	}
	for _, tt := range tests {
		if got := Extract(tt.in); got != tt.want {
			t.Errorf("Extract(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExtractReply(t *testing.T) {
	tests := []struct{ plain, html, want string }{
		{"Hi\n> old", "<p>Hi html</p>", "Hi"},
		{"", "<p>Hi html</p><blockquote type=cite>old</blockquote>", "Hi html"},
		{" \r\n", "<p>Hi html</p>", "Hi html"},
		{"> only quote", "<p>Hi html</p>", "Hi html"},
		{"> only quote", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := ExtractReply(tt.plain, tt.html); got != tt.want {
			t.Errorf("ExtractReply(%q, %q) = %q, want %q", tt.plain, tt.html, got, tt.want)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a<br>b<br/>c<BR >d", "a\nb\nc\nd"},
		{"<div>a</div><div>b</div>", "a\nb"},
		{"<div>a</div><div><br></div><div>b</div>", "a\n\nb"},
		{"<p>a</p><p>b</p>", "a\n\nb"},
		{"<p class=MsoNormal>a</p><p class=MsoNormal>b</p>", "a\nb"},
		{"x &lt;y&gt; &amp; &quot;z&quot; &#8364; &euro;&nbsp;1", `x <y> & "z" € € 1`},
		{"  lots   of\n\n  space  ", "lots of space"},
		{"<pre>a  b\n  c</pre>", "a  b\n  c"},
		{"<script>alert('<b>')</script>ok<style>p{}</style>", "ok"},
		{"<!-- <p>hidden</p> -->shown", "shown"},
		{"<![if !supportLists]>x<![endif]>", "x"},
		{"<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"<blockquote>q<br>r</blockquote>after", "> q\n> r\nafter"},
		{"<blockquote><blockquote>deep</blockquote></blockquote>", "> > deep"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"a < b and c > d", "a < b and c > d"},
		{"<a href='x'>link</a> text", "link text"},
		{"see <a href=\"https://acme.example/terms\">our terms</a>.", "see our terms <https://acme.example/terms>."},
		{"<a href=\"https://acme.example/\">https://acme.example</a>", "https://acme.example"},
		{"<a href=\"mailto:a@b\">a@b</a>", "a@b"},
		{"<div style=\"display: none; max-height:0\">preheader</div>Body", "Body"},
		{"<div title=\"a>b\">x</div>", "x"},
		{"unterminated <div", "unterminated"},
		{"<b>bold</b><i>it</i>", "boldit"},
		{"</div></p>stray", "stray"},
		{"<h1>Title</h1>Body", "Title\nBody"},
	}
	for _, tt := range tests {
		if got := HTMLToText(tt.in); got != tt.want {
			t.Errorf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHTMLToTextDeep(t *testing.T) {
	in := strings.Repeat("<div>", 100000) + "x" + strings.Repeat("</div>", 100000)
	if got := HTMLToText(in); got != "x" {
		t.Errorf("HTMLToText(100000 nested divs) = %q, want %q", got, "x")
	}
	in = strings.Repeat("<blockquote type=cite>", 10000) + "x"
	if got := ExtractHTML("keep" + in); got != "keep" {
		t.Errorf("ExtractHTML(10000 nested blockquotes) = %q, want %q", got, "keep")
	}
}

func FuzzExtract(f *testing.F) {
	addCorpusSeeds(f, ".txt")
	f.Add("ok\nOn Mon, X <a@b> wrote:\n> q\nmore")
	f.Fuzz(func(t *testing.T, s string) {
		got := Extract(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Extract(%q) = %q: invalid UTF-8 from valid input", s, got)
		}
		if strings.Contains(got, "\n\n\n") || strings.HasPrefix(got, "\n") || strings.TrimRight(got, " \t\r\n") != got {
			t.Fatalf("Extract(%q) = %q: not tidy", s, got)
		}
	})
}

func FuzzHTMLToText(f *testing.F) {
	addCorpusSeeds(f, ".html")
	for _, s := range []string{"<div>a</div>", "<pre>x", "<!--", "<a b='", "<blockquote type=cite>x", "&#xffffffff;", "<script>", "</", "<p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{HTMLToText(s), ExtractHTML(s)} {
			if strings.Contains(got, "\n\n\n") {
				t.Fatalf("HTMLToText(%q) = %q: more than one blank line", s, got)
			}
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("HTMLToText(%q) = %q: invalid UTF-8 from valid input", s, got)
			}
		}
	})
}

func addCorpusSeeds(f *testing.F, ext string) {
	ins, _ := filepath.Glob("testdata/replies/*" + ext)
	for _, in := range ins {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// TestExtractPathological feeds hostile inputs (many raw-text elements,
// deep quotes, huge bodies) and checks the outputs stay bounded. A
// quadratic path shows up as this test running into go test's timeout;
// BenchmarkExtractPathological measures the time (no timed assertions here:
// under -race on a loaded CI machine they are noise).
func TestExtractPathological(t *testing.T) {
	inputs := map[string]string{
		"styles":      strings.Repeat("<style>x</style>", 200000),
		"deep quotes": strings.Repeat("<blockquote>", 200000) + strings.Repeat("line<br>", 10000),
		"comments":    strings.Repeat("<!-- x -->", 200000),
		"open tags":   strings.Repeat("<a b='c", 100000),
	}
	for name, in := range inputs {
		out := HTMLToText(in)
		ExtractHTML(in)
		if len(out) > 4*len(in) {
			t.Errorf("%s: HTMLToText output %d bytes from %d", name, len(out), len(in))
		}
	}
	Extract(pathologicalQuotes)
	huge := strings.Repeat("é", MaxExtractBytes)
	if got := Extract(huge); len(got) > MaxExtractBytes || !utf8.ValidString(got) {
		t.Errorf("Extract(2 MiB) = %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

var pathologicalQuotes = strings.Repeat("Bob wrote:\n\n\n", 100000) + strings.Repeat("> q\n", 100000)

// BenchmarkExtractPathological: go test -run ^$ -bench ExtractPathological ./threading
func BenchmarkExtractPathological(b *testing.B) {
	b.SetBytes(int64(len(pathologicalQuotes)))
	for b.Loop() {
		Extract(pathologicalQuotes)
	}
}
