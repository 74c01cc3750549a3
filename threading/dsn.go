package threading

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
)

// MaxDSNBytes is how much of a bounce ParseDSN reads at most. The
// delivery-status part comes before the returned original message, which
// is not read.
const MaxDSNBytes = 1 << 20

const (
	maxDSNParts      = 50  // parts looked at
	maxDSNDepth      = 5   // multipart nesting followed
	maxDSNRecipients = 100 // recipients returned
	maxDSNValue      = 1000
	maxBounceText    = 256 << 10 // human-readable text kept for the fallback
)

// ErrNotDSN is returned by ParseDSN for a message that is neither a
// delivery status notification nor recognisable as a bounce.
var ErrNotDSN = errors.New("threading: not a delivery status notification")

// Severity is how bad a delivery failure is. Its String values equal
// storage.BounceNone, storage.BounceSoft and storage.BounceHard.
type Severity uint8

// Severities, from harmless to permanent.
const (
	SeverityNone Severity = iota // delivered, relayed, expanded
	SeveritySoft                 // delayed, or failed with a 4.x.x status
	SeverityHard                 // failed permanently (5.x.x)
)

// String returns "", "soft" or "hard".
func (s Severity) String() string {
	switch s {
	case SeveritySoft:
		return "soft"
	case SeverityHard:
		return "hard"
	}
	return ""
}

// DSN is a parsed delivery status notification (RFC 3464) or a
// best-effort reading of a non-standard bounce.
type DSN struct {
	// Standard is true when the DSN came from a message/delivery-status
	// part, false when it was guessed from the text of a bounce.
	Standard     bool
	ReportingMTA string
	Recipients   []DSNRecipient
}

// DSNRecipient is the report for one recipient (RFC 3464 section 2.3).
type DSNRecipient struct {
	FinalRecipient    string // address, type prefix ("rfc822;") removed; may be "" in guessed bounces
	OriginalRecipient string
	Action            string // failed, delayed, delivered, relayed, expanded (lower case)
	Status            string // "5.1.1"; "" when missing or malformed
	Diagnostic        string // Diagnostic-Code text, e.g. "550 5.1.1 user unknown"
}

// Severity classifies the recipient's report: failed with 5.x.x (or no
// status) is hard; delayed, or failed with 4.x.x, is soft; delivered,
// relayed and expanded are none.
func (r DSNRecipient) Severity() Severity {
	class := byte(0)
	if r.Status != "" {
		class = r.Status[0]
	}
	switch r.Action {
	case "failed":
		if class == '4' {
			return SeveritySoft
		}
		return SeverityHard
	case "delayed":
		return SeveritySoft
	case "":
		switch class {
		case '5':
			return SeverityHard
		case '4':
			return SeveritySoft
		}
	}
	return SeverityNone
}

// Severity is the worst severity of its recipients.
func (d DSN) Severity() Severity {
	s := SeverityNone
	for _, r := range d.Recipients {
		s = max(s, r.Severity())
	}
	return s
}

// Summary is a one-line description of the worst failure, for a bounce
// record: "5.1.1 a@b.example: 550 5.1.1 user unknown". It is at most
// 500 bytes and "" when nothing failed.
func (d DSN) Summary() string {
	worst := d.Severity()
	if worst == SeverityNone {
		return ""
	}
	for _, r := range d.Recipients {
		if r.Severity() != worst {
			continue
		}
		parts := make([]string, 0, 3)
		for _, p := range []string{r.Status, r.FinalRecipient} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		s := strings.Join(parts, " ")
		if r.Diagnostic != "" {
			if s != "" {
				s += ": "
			}
			s += strings.Join(strings.Fields(r.Diagnostic), " ")
		}
		return truncateUTF8(s, 500)
	}
	return ""
}

// ParseDSN reads a bounce message (header and body) from r, at most
// MaxDSNBytes of it. A multipart/report with a message/delivery-status
// (or message/global-delivery-status, RFC 6533) part is parsed per
// RFC 3464; otherwise the human-readable text is searched for SMTP reply
// codes, enhanced status codes and the failed addresses, as Exim, qmail
// and Microsoft's servers write them. ErrNotDSN when neither works.
func ParseDSN(r io.Reader) (DSN, error) {
	e, err := message.Read(io.LimitReader(r, MaxDSNBytes))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return DSN{}, fmt.Errorf("parse DSN: %w", err)
	}
	w := dsnWalker{}
	w.text.WriteString(decodeSubject(e.Header.Get("Subject")))
	w.text.WriteString("\n")
	w.walk(e, 0)
	if w.found {
		return w.dsn, nil
	}
	d, ok := guessBounce(w.text.String())
	if !ok {
		return DSN{}, ErrNotDSN
	}
	return d, nil
}

type dsnWalker struct {
	dsn   DSN
	found bool
	parts int
	text  strings.Builder // human-readable parts, for guessBounce
}

func (w *dsnWalker) walk(e *message.Entity, depth int) {
	w.parts++
	mt, _, _ := e.Header.ContentType()
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if depth >= maxDSNDepth {
			return
		}
		mr := e.MultipartReader()
		for !w.found && w.parts < maxDSNParts {
			p, err := mr.NextPart()
			if p == nil || err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
				return // io.EOF, or a truncated or broken part
			}
			w.walk(p, depth+1)
		}
	case mt == "message/delivery-status", mt == "message/global-delivery-status", mt == "text/delivery-status":
		b, _ := io.ReadAll(io.LimitReader(e.Body, MaxDSNBytes))
		if d, ok := parseDeliveryStatus(string(b)); ok {
			w.dsn, w.found = d, true
		}
	case mt == "" || strings.HasPrefix(mt, "text/"):
		room := maxBounceText - w.text.Len()
		if room <= 0 {
			return
		}
		b, _ := io.ReadAll(io.LimitReader(e.Body, int64(room)))
		s := string(b)
		if mt == "text/html" {
			s = HTMLToText(s)
		}
		w.text.WriteString(s)
		w.text.WriteString("\n")
	}
	// message/rfc822 and message/rfc822-headers (the returned original)
	// and attachments are not read.
}

// dsnFields is one block of "Name: value" lines.
type dsnFields map[string]string

// parseDeliveryStatus parses the body of a message/delivery-status part:
// a per-message block then per-recipient blocks, separated by blank
// lines (RFC 3464 section 2.1). Unparsable lines are skipped.
func parseDeliveryStatus(s string) (DSN, bool) {
	var d DSN
	d.Standard = true
	for _, block := range splitBlocks(s) {
		f := parseFields(block)
		if f["final-recipient"] == "" && f["action"] == "" && f["status"] == "" {
			if v := f["reporting-mta"]; v != "" && d.ReportingMTA == "" {
				d.ReportingMTA = stripType(v)
			}
			continue
		}
		if len(d.Recipients) >= maxDSNRecipients {
			break
		}
		r := DSNRecipient{
			FinalRecipient:    stripAddr(stripType(f["final-recipient"])),
			OriginalRecipient: stripAddr(stripType(f["original-recipient"])),
			Action:            strings.ToLower(headerToken(f["action"])),
			Diagnostic:        stripType(f["diagnostic-code"]),
		}
		r.Status = enhancedStatus(f["status"])
		if r.Status == "" {
			r.Status = enhancedStatus(r.Diagnostic)
		}
		d.Recipients = append(d.Recipients, r)
	}
	return d, len(d.Recipients) > 0
}

// splitBlocks splits s at blank lines, unfolding continuation lines.
func splitBlocks(s string) [][]string {
	var blocks [][]string
	var cur []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.TrimSpace(l) == "":
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
		case (l[0] == ' ' || l[0] == '\t') && len(cur) > 0:
			if len(cur[len(cur)-1]) < maxDSNValue {
				cur[len(cur)-1] += " " + strings.TrimSpace(l)
			}
		default:
			cur = append(cur, l)
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

func parseFields(lines []string) dsnFields {
	f := make(dsnFields, len(lines))
	for _, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := f[k]; dup || k == "" {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) > maxDSNValue {
			v = v[:maxDSNValue]
		}
		f[k] = v
	}
	return f
}

// stripType removes an address or diagnostic type: "rfc822; a@b" → "a@b".
func stripType(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(after)
	}
	return strings.TrimSpace(v)
}

func stripAddr(v string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">"))
}

var enhancedStatusRE = regexp.MustCompile(`(?:^|[^.\d])([245]\.\d{1,3}\.\d{1,3})(?:[^.\d]|$)`)

// enhancedStatus finds an RFC 3463 status code in s.
func enhancedStatus(s string) string {
	if m := enhancedStatusRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}
