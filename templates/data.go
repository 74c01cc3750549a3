package templates

import (
	"fmt"
	"strings"
	"time"
)

// Notification is the data of the "notification" templates: one staff
// message emailed to one partner member.
type Notification struct {
	Company     string // the company's name
	Author      string // display name of the staff member who wrote it
	Team        string // the partner team's name
	Recipient   string // the member's name; may be empty
	Subject     string
	Text        string // the message text
	Attachments []Attachment
	Previous    *Quote // the message before it in the conversation; nil for the first
	Unsubscribe Unsubscribe
}

// Campaign is the data of the "campaign" templates: one campaign email to
// one partner member.
type Campaign struct {
	Company   string
	Author    string
	Team      string
	Recipient string
	Subject   string
	Text      string
	// RepliesRefused is set for members of a group with messaging
	// disabled: their replies are refused, Redirect says where to write.
	RepliesRefused bool
	Redirect       string
	Unsubscribe    Unsubscribe
}

// Attachment is a file carried by the email.
type Attachment struct {
	Name string
	Size int64 // octets
}

// SizeText is the size for people: "512 bytes", "1.4 MB".
func (a Attachment) SizeText() string { return sizeText(a.Size) }

// Quote is the previous message of a conversation, quoted below a reply.
type Quote struct {
	Author string
	Date   time.Time
	Text   string
}

// DateText is the date as mail clients write it above a quote.
func (q Quote) DateText() string {
	if q.Date.IsZero() {
		return ""
	}
	return q.Date.Format("Mon, 2 Jan 2006 at 15:04 MST")
}

// Unsubscribe tells how to turn email notifications off.
type Unsubscribe struct {
	URL     string // https one-click page; empty when no public URL is configured
	Address string // unsubscribe+TOKEN@domain
}

func sizeText(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGT"[exp])
}

// funcs are the functions every template may call.
var funcs = map[string]any{
	// quote prefixes every line of s with "> ", as mail clients quote.
	"quote": func(s string) string {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		for i, l := range lines {
			if l == "" || strings.HasPrefix(l, ">") {
				lines[i] = ">" + l
			} else {
				lines[i] = "> " + l
			}
		}
		return strings.Join(lines, "\n")
	},
	"links": links,
	// paragraphs splits s at blank lines, each paragraph into its lines:
	// HTML templates range over them and stay escaped.
	"paragraphs": func(s string) [][]string {
		var ps [][]string
		for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
			p = strings.Trim(p, "\n")
			if p != "" {
				ps = append(ps, strings.Split(p, "\n"))
			}
		}
		return ps
	},
}

// Segment is a piece of a line of text: plain text, or a web link
// (URL set) shown as Text.
type Segment struct {
	Text string
	URL  string
}

// links splits a line into text and http(s) links, so that HTML templates
// can make links clickable and still escape everything:
//
//	{{range links $line}}{{if .URL}}<a href="{{.URL}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}
func links(line string) []Segment {
	var segs []Segment
	for line != "" {
		i := indexURL(line)
		if i < 0 {
			break
		}
		end := i + strings.IndexFunc(line[i:], func(r rune) bool { return r <= ' ' || strings.ContainsRune(`<>"`, r) })
		if end < i {
			end = len(line)
		}
		url := strings.TrimRight(line[i:end], ".,;:!?')]}")
		if i > 0 {
			segs = append(segs, Segment{Text: line[:i]})
		}
		segs = append(segs, Segment{Text: url, URL: url})
		line = line[i+len(url):]
	}
	if line != "" {
		segs = append(segs, Segment{Text: line})
	}
	return segs
}

// indexURL is the index of the first "http://" or "https://" in s that
// starts a word and has something after it, or -1.
func indexURL(s string) int {
	off := 0
	for {
		i := strings.Index(s[off:], "http")
		if i < 0 {
			return -1
		}
		i += off
		rest := s[i:]
		n := 0
		switch {
		case strings.HasPrefix(rest, "https://"):
			n = len("https://")
		case strings.HasPrefix(rest, "http://"):
			n = len("http://")
		}
		startsWord := i == 0 || !isWordByte(s[i-1])
		if n > 0 && startsWord && len(rest) > n && rest[n] > ' ' {
			return i
		}
		off = i + 4
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || b == '/' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// samples are the data overrides are checked against when loaded, so a
// misspelt field fails at start-up, not when an email is due.
var samples = map[string]any{
	NotificationName: Notification{
		Company: "Example Inc.", Author: "Pat Manager", Team: "Acme Resellers", Recipient: "Ann",
		Subject: "Welcome", Text: "Hello Ann,\n\nwelcome aboard.",
		Attachments: []Attachment{{Name: "guide.pdf", Size: 123456}},
		Previous:    &Quote{Author: "Ann", Date: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), Text: "Hi there"},
		Unsubscribe: Unsubscribe{URL: "https://partners.example/unsubscribe/t", Address: "unsubscribe+t@partners.example"},
	},
	CampaignName: Campaign{
		Company: "Example Inc.", Author: "Pat Manager", Team: "Acme Resellers", Recipient: "Ann",
		Subject: "News", Text: "Our spring offer.", RepliesRefused: true, Redirect: "Write to support@example.com",
		Unsubscribe: Unsubscribe{URL: "https://partners.example/unsubscribe/t", Address: "unsubscribe+t@partners.example"},
	},
}
