package authcheck

import (
	"bytes"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// Verdict is the outcome of one Check.
type Verdict struct {
	SPF   SPFResult
	DKIM  []DKIMResult // one per signature verified; empty without signatures
	DMARC DMARCResult
	// Reject is set in ModeEnforce when DMARC failed under a reject or
	// quarantine policy: the listener answers RejectReply.
	Reject bool

	authservID string
	mode       Mode
}

// Results lists the verdicts as go-msgauth authres results.
func (v *Verdict) Results() []authres.Result {
	if v.mode == ModeOff || v.mode == "" {
		return nil
	}
	res := []authres.Result{&authres.SPFResult{Value: v.SPF.Result, Reason: v.SPF.Reason, From: v.spfFrom(), Helo: v.spfHelo()}}
	if len(v.DKIM) == 0 {
		res = append(res, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, d := range v.DKIM {
		res = append(res, &authres.DKIMResult{Value: d.Result, Reason: d.Reason, Domain: d.Domain, Identifier: d.Identifier})
	}
	dm := &authres.DMARCResult{Value: v.DMARC.Result, Reason: v.DMARC.Reason, From: v.DMARC.FromDomain}
	if v.DMARC.Policy != "" {
		dm.Reason = strings.TrimSpace(dm.Reason + " p=" + v.DMARC.Policy)
	}
	for _, r := range res { // keep ';' and '"' out of reasons so the value splits cleanly
		switch r := r.(type) {
		case *authres.SPFResult:
			r.Reason = cleanReason(r.Reason)
		case *authres.DKIMResult:
			r.Reason = cleanReason(r.Reason)
		}
	}
	dm.Reason = cleanReason(dm.Reason)
	return append(res, dm)
}

func (v *Verdict) spfFrom() string {
	if v.SPF.Helo {
		return ""
	}
	return v.SPF.Domain
}

func (v *Verdict) spfHelo() string {
	if v.SPF.Helo {
		return v.SPF.Domain
	}
	return ""
}

// Value is the Authentication-Results field value (what storage keeps in
// Message.AuthResults); "" in ModeOff.
func (v *Verdict) Value() string {
	res := v.Results()
	if res == nil {
		return ""
	}
	parts := strings.Split(sanitizeValue(authres.Format(v.authservID, res)), ";")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; ")
}

func cleanReason(s string) string {
	s = strings.NewReplacer(";", ",", `"`, "'", `\`, "/").Replace(s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}

// HeaderField is the complete "Authentication-Results: …\r\n" field to
// prepend to the message as staff see it; "" in ModeOff.
func (v *Verdict) HeaderField() string { return FormatField(v.Value()) }

// FormatField turns a stored Authentication-Results value (Verdict.Value,
// kept in Message.AuthResults) into a header field, one result per line,
// folded below 78 columns where possible (never inside a quoted string).
// It returns "" for an empty value.
func FormatField(val string) string {
	if val == "" {
		return ""
	}
	val = sanitizeValue(val)
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	col := len("Authentication-Results: ")
	for i, part := range strings.Split(val, "; ") {
		if i > 0 {
			b.WriteString(";\r\n\t")
			col = 8
		}
		quoted := false
		for j, word := range strings.Split(part, " ") {
			if j > 0 {
				if col+1+len(word) > 78 && !quoted {
					b.WriteString("\r\n\t")
					col = 8
				} else {
					b.WriteByte(' ')
					col++
				}
			}
			b.WriteString(word)
			col += len(word)
			if strings.Count(word, `"`)%2 == 1 {
				quoted = !quoted
			}
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// RejectReply is the SMTP reply for a Verdict with Reject set: 550 5.7.1.
func (v *Verdict) RejectReply() (code int, enhanced [3]int, text string) {
	return 550, [3]int{5, 7, 1}, "message rejected: DMARC policy of " + v.DMARC.FromDomain +
		" (p=" + v.DMARC.Policy + ") failed: " + v.DMARC.Reason
}

// sanitizeValue keeps a header value on one line whatever the resolver or
// the peer put into reasons.
func sanitizeValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// StripForged removes from a raw header block (as stored, up to and
// including the blank line or not) every Authentication-Results field
// whose authserv-id is ours (RFC 8601 section 5: a receiver must delete
// such fields, they can only be forged). Everything else is kept
// byte-for-byte. It returns the new header and how many fields it removed.
func StripForged(header []byte, authservID string) ([]byte, int) {
	var out bytes.Buffer
	out.Grow(len(header))
	removed := 0
	for rest := header; len(rest) > 0; {
		field := nextField(rest)
		rest = rest[len(field):]
		if isBlank(field) { // end of the header: the body is not ours to edit
			out.Write(field)
			out.Write(rest)
			break
		}
		if isOurs(field, authservID) {
			removed++
			continue
		}
		out.Write(field)
	}
	return out.Bytes(), removed
}

// Rewrite returns the header staff should see: our Authentication-Results
// field first, then the received header without forged fields.
func (v *Verdict) Rewrite(header []byte) []byte {
	return Rewrite(header, v.authservID, v.Value())
}

// Rewrite is Verdict.Rewrite for a message stored earlier: header is the
// raw header block (mimewalk's Result.HeaderSize bytes of the raw blob),
// value the stored Authentication-Results value. The raw blob itself stays
// byte-exact; this is applied when the message is shown (IMAP).
func Rewrite(header []byte, authservID, value string) []byte {
	stripped, _ := StripForged(header, authservID)
	return append([]byte(FormatField(value)), stripped...)
}

// nextField returns the first field of b with its continuation lines and
// line ends (a lone blank line is a field of its own).
func nextField(b []byte) []byte {
	end := 0
	for {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			return b
		}
		end += i + 1
		if end == len(b) || (b[end] != ' ' && b[end] != '\t') || isBlank(b[:end]) {
			return b[:end]
		}
	}
}

func isBlank(line []byte) bool { return len(bytes.TrimRight(line, "\r\n")) == 0 }

// isOurs reports whether field is an Authentication-Results field whose
// authserv-id equals id (case-insensitively, RFC 8601 section 2.5).
func isOurs(field []byte, id string) bool {
	name, value, ok := bytes.Cut(field, []byte(":"))
	if !ok || !strings.EqualFold(strings.TrimSpace(string(name)), "Authentication-Results") {
		return false
	}
	return strings.EqualFold(authservIDOf(string(value)), id)
}

// authservIDOf returns the authserv-id of a field value: the first token
// after comments and folding whitespace.
func authservIDOf(v string) string {
	depth := 0
	start := -1
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"' && start < 0:
			if j := strings.IndexByte(v[i+1:], '"'); j >= 0 {
				return v[i+1 : i+1+j]
			}
			return v[i+1:]
		case c == '(':
			if start >= 0 {
				return v[start:i]
			}
			depth++
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';':
			if start >= 0 {
				return v[start:i]
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		return v[start:]
	}
	return ""
}
