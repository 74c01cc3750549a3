package smtpd

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
	"golang.org/x/text/unicode/norm"
)

// Reply limits. RFC 5321 section 4.5.3.1.5 allows 512 octets per reply
// line including the code and CRLF; "550-5.7.1 " takes 10.
const (
	maxReplyText  = 400 // octets of text per reply line
	maxReplyLines = 60
)

// refusal is a reply the client may see. Everything that reaches the
// client goes through one: session methods turn it into a bare
// *smtp.SMTPError at the edge (see session.reply), any other error
// becomes 451 4.3.0 and only the log sees its text.
type refusal struct {
	Code     int
	Enhanced smtp.EnhancedCode
	Text     string // may span lines (CR, LF or CRLF) and hold UTF-8
	Reason   string // metric label and log key: relay, token, disabled, sender…
	Cause    error  // for the log only
}

func (r *refusal) Error() string {
	s := fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enhanced[0], r.Enhanced[1], r.Enhanced[2], r.Text)
	if r.Cause != nil {
		s += ": " + r.Cause.Error()
	}
	return s
}

func (r *refusal) Unwrap() error { return r.Cause }

// refuse builds a refusal with a formatted text.
func refuse(reason string, code int, enh smtp.EnhancedCode, format string, args ...any) *refusal {
	return &refusal{Code: code, Enhanced: enh, Text: fmt.Sprintf(format, args...), Reason: reason}
}

// tempFail is the reply for every error the client must not see.
var tempFail = refusal{Code: 451, Enhanced: smtp.EnhancedCode{4, 3, 0}, Text: "temporary failure, please try again later", Reason: "tempfail"}

// smtpError renders r as go-smtp's error. go-smtp splits Message at "\n"
// into a multi-line reply and puts the enhanced code on the last line
// only; every other line gets it here, as RFC 2034 section 3 asks, so
// clients (go-smtp's included) strip it from each line and get the text
// back line for line.
func (r *refusal) smtpError(utf8OK bool) *smtp.SMTPError {
	lines := replyLines(r.Text, utf8OK)
	prefix := fmt.Sprintf("%d.%d.%d ", r.Enhanced[0], r.Enhanced[1], r.Enhanced[2])
	for i := 0; i < len(lines)-1; i++ {
		lines[i] = prefix + lines[i]
	}
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: r.Enhanced, Message: strings.Join(lines, "\n")}
}

// replyLines splits text into reply lines that cannot break the SMTP
// dialogue: CR, LF and CRLF all end a line; other control characters
// become spaces; leading and trailing blank lines go; a line longer than
// maxReplyText octets is wrapped at its last space before the limit (or
// cut on a character boundary when it has none). Without SMTPUTF8
// (RFC 6531 section 3.7.4.2: UTF-8 replies only to clients that asked for
// it) non-ASCII text is transliterated: accents dropped, common
// typographic characters replaced, anything else becomes "?".
func replyLines(text string, utf8OK bool) []string {
	text = strings.ToValidUTF8(text, "?")
	if !utf8OK {
		text = toASCII(text)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return ' '
			}
			return r
		}, l), " ")
		lines = append(lines, wrapLine(l, maxReplyText)...)
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return []string{"refused"}
	}
	if len(lines) > maxReplyLines {
		lines = append(lines[:maxReplyLines-1], "[...]")
	}
	return lines
}

// wrapLine splits l into pieces of at most n octets, at spaces where it
// can. The space a piece ends at is dropped, so joining the pieces with
// " " gives l back when every cut was at a space.
func wrapLine(l string, n int) []string {
	var out []string
	for len(l) > n {
		cut := strings.LastIndexByte(l[:n+1], ' ')
		if cut > 0 {
			out = append(out, l[:cut])
			l = l[cut+1:]
			continue
		}
		cut = n
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		out = append(out, l[:cut])
		l = l[cut:]
	}
	return append(out, l)
}

// asciiReplacements are the non-ASCII characters NFKD does not reduce to
// ASCII that redirect texts commonly hold.
var asciiReplacements = strings.NewReplacer(
	"ß", "ss", "ẞ", "SS", "æ", "ae", "Æ", "AE", "œ", "oe", "Œ", "OE", "ø", "o", "Ø", "O",
	"ł", "l", "Ł", "L", "đ", "d", "Đ", "D", "ð", "d", "Ð", "D", "þ", "th", "Þ", "Th", "ı", "i",
	"€", "EUR", "£", "GBP", "©", "(c)", "®", "(R)", "™", "(TM)", "°", " deg",
	"‘", "'", "’", "'", "‚", "'", "“", "\"", "”", "\"", "„", "\"", "«", "\"", "»", "\"",
	"‹", "'", "›", "'", "–", "-", "—", "-", "‐", "-", "‑", "-", "•", "*", "·", "*",
	"\u00a0", " ", "\u202f", " ", "\u2009", " ",
)

// toASCII transliterates s to printable ASCII.
func toASCII(s string) string {
	if isASCII(s) {
		return s
	}
	s = norm.NFKD.String(asciiReplacements.Replace(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r): // accents split off by NFKD
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
