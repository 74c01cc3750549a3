package threading

import (
	"html"
	"strings"
)

// HTMLToText renders an HTML mail body as plain text: block elements and
// <br> become line breaks, entities are decoded, whitespace is collapsed
// outside <pre>, <script>, <style> and comments vanish, list items get
// "- ", and blockquote lines get "> " the way a plain-text mailer quotes.
// It never fails: unbalanced or truncated markup is rendered as far as it
// goes.
func HTMLToText(s string) string {
	c := newHTMLConv(false)
	c.run(s)
	return c.result()
}

// htmlReplyText is HTMLToText with the quoted history and signatures that
// mailers mark in their HTML removed (see stripStart).
func htmlReplyText(s string) string {
	c := newHTMLConv(true)
	c.run(s)
	return c.result()
}

// maxHTMLDepth bounds the element stack of malformed documents.
const maxHTMLDepth = 512

// maxQuotePrefix bounds the "> " rendered for nested blockquotes.
const maxQuotePrefix = 8

type htmlElem struct {
	name  string
	quote bool // a rendered blockquote
	pre   bool
	block int    // line breaks after the element
	href  string // http(s) target of a link
	mark  int    // output length where the link text starts
}

type htmlConv struct {
	strip   bool
	out     strings.Builder
	stack   []htmlElem
	dropAt  int // stack index of the element whose subtree is dropped, -1 none
	stopped bool
	quote   int // open rendered blockquotes
	pre     int // open <pre>
	nl      int // line breaks pending
	space   bool
	bol     bool // the output is at the beginning of a line
}

func newHTMLConv(strip bool) *htmlConv {
	return &htmlConv{strip: strip, dropAt: -1, bol: true}
}

var voidElems = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "param": true, "source": true, "track": true, "wbr": true,
}

// rawElems hold text that is not markup and not shown.
var rawElems = map[string]bool{"script": true, "style": true, "title": true, "textarea": true, "xmp": true, "noscript": true}

// blockElems end a line before and after themselves.
var blockElems = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "center": true, "dd": true,
	"div": true, "dl": true, "dt": true, "fieldset": true, "figcaption": true, "figure": true,
	"footer": true, "form": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
	"h6": true, "header": true, "hr": true, "li": true, "main": true, "nav": true, "ol": true,
	"p": true, "pre": true, "section": true, "table": true, "tr": true, "ul": true, "body": true,
	"html": true, "caption": true, "tbody": true, "thead": true, "tfoot": true,
}

func (c *htmlConv) dropping() bool { return c.stopped || c.dropAt >= 0 }

func (c *htmlConv) run(s string) {
	for i := 0; i < len(s) && !c.stopped; {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			c.text(s[i:])
			return
		}
		c.text(s[i : i+lt])
		i += lt
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return
			}
			i += 4 + end + 3
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			i += skipPast(rest, '>')
		case len(rest) > 2 && rest[1] == '/' && isASCIILetter(rest[2]):
			name, _ := tagName(rest[2:])
			i += skipPast(rest, '>')
			c.end(name)
		case len(rest) > 1 && isASCIILetter(rest[1]):
			name, attrs, selfClosing, n := parseStartTag(rest)
			i += n
			if rawElems[name] {
				i += skipRaw(s[i:], name)
				continue
			}
			c.start(name, attrs, selfClosing)
		default:
			c.text("<")
			i++
		}
	}
}

// skipPast returns the length of s up to and including the first b, or
// len(s).
func skipPast(s string, b byte) int {
	if j := strings.IndexByte(s, b); j >= 0 {
		return j + 1
	}
	return len(s)
}

// skipRaw returns the length of the raw text of element name at the
// start of s, including its end tag.
func skipRaw(s, name string) int {
	for j := 0; ; {
		k := strings.Index(s[j:], "</")
		if k < 0 {
			return len(s)
		}
		k += j
		if end := k + 2 + len(name); end <= len(s) && strings.EqualFold(s[k+2:end], name) {
			return k + skipPast(s[k:], '>')
		}
		j = k + 2
	}
}

func isASCIILetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

func tagName(s string) (string, int) {
	n := 0
	for n < len(s) && s[n] != '>' && s[n] != '/' && s[n] > ' ' {
		n++
	}
	return strings.ToLower(s[:n]), n
}

// parseStartTag parses "<name attr=value ...>" at the start of s and
// returns the lower-case name, the attributes (lower-case names), whether
// it ended in "/>", and the bytes consumed.
func parseStartTag(s string) (name string, attrs map[string]string, selfClosing bool, n int) {
	name, n = tagName(s[1:])
	n++
	for n < len(s) {
		for n < len(s) && (s[n] <= ' ' || s[n] == '/') {
			selfClosing = s[n] == '/'
			n++
		}
		if n >= len(s) {
			break
		}
		if s[n] == '>' {
			return name, attrs, selfClosing, n + 1
		}
		selfClosing = false
		start := n
		for n < len(s) && s[n] > ' ' && s[n] != '=' && s[n] != '>' && s[n] != '/' {
			n++
		}
		key := strings.ToLower(s[start:n])
		val := ""
		for n < len(s) && s[n] <= ' ' {
			n++
		}
		if n < len(s) && s[n] == '=' {
			n++
			for n < len(s) && s[n] <= ' ' {
				n++
			}
			if n < len(s) && (s[n] == '"' || s[n] == '\'') {
				q := s[n]
				end := strings.IndexByte(s[n+1:], q)
				if end < 0 {
					end = len(s) - n - 1
				}
				val = s[n+1 : n+1+end]
				n += end + 2
			} else {
				vs := n
				for n < len(s) && s[n] > ' ' && s[n] != '>' {
					n++
				}
				val = s[vs:n]
			}
		}
		if key != "" {
			if attrs == nil {
				attrs = make(map[string]string)
			}
			if _, dup := attrs[key]; !dup {
				attrs[key] = html.UnescapeString(val)
			}
		}
	}
	return name, attrs, selfClosing, min(n, len(s))
}

func (c *htmlConv) start(name string, attrs map[string]string, selfClosing bool) {
	if !c.dropping() && !voidElems[name] && !selfClosing && isHidden(attrs["style"]) {
		c.dropAt = len(c.stack)
	}
	if c.strip && !c.dropping() {
		switch stripStart(name, attrs) {
		case stripTruncate:
			c.stopped = true
			return
		case stripDrop:
			if voidElems[name] || selfClosing {
				return
			}
			c.dropAt = len(c.stack)
		}
	}
	switch name {
	case "br":
		c.nl++
		c.space = false
		return
	case "td", "th":
		c.space = true
	}
	e := htmlElem{name: name}
	if href := strings.TrimSpace(attrs["href"]); name == "a" && isWebURL(href) {
		e.href, e.mark = href, c.out.Len()
	}
	if blockElems[name] {
		e.block = 1
		if name == "p" && !strings.Contains(strings.ToLower(attrs["class"]), "msonormal") {
			e.block = 2
		}
		c.breakLine(e.block)
	}
	if voidElems[name] || selfClosing {
		return
	}
	if name == "li" {
		c.write("- ")
	}
	if len(c.stack) >= maxHTMLDepth {
		// Too deep to track: render the element as inline, and end the
		// reply at a quote too deep to drop.
		if c.dropAt == len(c.stack) {
			c.dropAt = -1
			c.stopped = true
		}
		return
	}
	switch name {
	case "blockquote":
		if !c.strip && !c.dropping() {
			e.quote = true
			c.quote++
		}
	case "pre":
		e.pre = true
		c.pre++
	}
	c.stack = append(c.stack, e)
}

func (c *htmlConv) end(name string) {
	if name == "br" {
		c.nl++
		return
	}
	i := len(c.stack) - 1
	for i >= 0 && c.stack[i].name != name {
		i--
	}
	if i < 0 {
		if name == "p" {
			c.breakLine(2)
		}
		return
	}
	for j := len(c.stack) - 1; j >= i; j-- {
		e := c.stack[j]
		if e.quote {
			c.quote--
		}
		if e.pre {
			c.pre--
		}
		if e.href != "" && !c.dropping() {
			c.linkTarget(e)
		}
		if e.block > 0 {
			c.breakLine(e.block)
		}
	}
	c.stack = c.stack[:i]
	if c.dropAt >= len(c.stack) {
		c.dropAt = -1
	}
}

// linkTarget writes " <URL>" after a link whose text does not show its
// target, so "click here" links keep their meaning in plain text.
func (c *htmlConv) linkTarget(e htmlElem) {
	text := c.out.String()[min(e.mark, c.out.Len()):]
	bare := strings.TrimPrefix(strings.TrimPrefix(e.href, "https://"), "http://")
	if strings.Contains(text, strings.TrimSuffix(bare, "/")) {
		return
	}
	if text != "" {
		c.space = true
	}
	c.write("<" + e.href + ">")
}

func isWebURL(s string) bool {
	l := strings.ToLower(s)
	return len(s) <= 2048 && (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://"))
}

// isHidden reports whether a style attribute hides its element
// (preheaders, tracking snippets).
func isHidden(style string) bool {
	if style == "" {
		return false
	}
	return strings.Contains(strings.ToLower(strings.Join(strings.Fields(style), "")), "display:none")
}

func (c *htmlConv) breakLine(n int) {
	c.nl = max(c.nl, n)
	c.space = false
}

// text renders character data.
func (c *htmlConv) text(s string) {
	if s == "" || c.dropping() {
		return
	}
	s = html.UnescapeString(s)
	if c.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				c.nl++
			}
			c.write(strings.TrimRight(line, "\r"))
		}
		return
	}
	for i, w := range strings.FieldsFunc(s, isHTMLSpace) {
		if i > 0 || isHTMLSpace(rune(s[0])) {
			c.space = true
		}
		c.write(w)
	}
	if isHTMLSpace(rune(s[len(s)-1])) {
		c.space = true
	}
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
}

// write emits s after the pending line breaks or space.
func (c *htmlConv) write(s string) {
	if c.dropping() || s == "" {
		return
	}
	if c.nl > 0 && c.out.Len() > 0 {
		c.out.WriteString("\n\n"[:min(c.nl, 2)])
		c.bol = true
	}
	c.nl = 0
	if c.bol {
		c.out.WriteString(strings.Repeat("> ", min(c.quote, maxQuotePrefix)))
		c.bol = false
	} else if c.space {
		c.out.WriteByte(' ')
	}
	c.space = false
	c.out.WriteString(s)
}

// result returns the rendered text: NBSP as space, lines right-trimmed, at
// most one blank line in a row, no blank lines at the ends.
func (c *htmlConv) result() string {
	return tidyText(strings.ReplaceAll(c.out.String(), "\u00a0", " "))
}

// tidyText right-trims lines, collapses runs of blank lines into one and
// trims blank lines at both ends.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
