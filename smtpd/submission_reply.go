package smtpd

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
	"golang.org/x/text/unicode/norm"

	"github.com/partnermail/partnermail/smtpd/mimewalk"
)

// Reply lines stay well below the 512 octets RFC 5321 section 4.5.3.1.5
// allows, and a reply is at most subReplyMaxLines long.
const (
	subReplyLineLen   = 200
	subReplyMaxLines  = 20
	subReplyMaxOctets = subReplyLineLen * subReplyMaxLines
)

// subReplyText makes text safe for a (multi-line) SMTP reply: control
// characters and line breaks become spaces, non-ASCII letters lose their
// accents unless the client asked for SMTPUTF8 (RFC 6531 section 3.7.4),
// and the text is folded at spaces into lines that each carry the enhanced
// code (go-smtp writes it on the last line only). The result is what goes
// into smtp.SMTPError.Message.
func subReplyText(text string, enh smtp.EnhancedCode, utf8ok bool) string {
	text = subCleanText(text, utf8ok)
	if len(text) > subReplyMaxOctets {
		text = subTruncate(text, subReplyMaxOctets-3) + "..."
	}
	var lines []string
	for len(text) > subReplyLineLen {
		cut := strings.LastIndexByte(text[:subReplyLineLen], ' ')
		if cut <= 0 {
			cut = len(subTruncate(text, subReplyLineLen))
		}
		lines = append(lines, strings.TrimSpace(text[:cut]))
		text = strings.TrimSpace(text[cut:])
	}
	lines = append(lines, text)
	code := subEnhString(enh)
	for i := 0; i < len(lines)-1; i++ {
		lines[i] = code + " " + lines[i]
	}
	return strings.Join(lines, "\n")
}

// subCleanText replaces control characters and runs of spaces with one
// space, and folds non-ASCII text to ASCII when utf8ok is false.
func subCleanText(s string, utf8ok bool) string {
	s = strings.ToValidUTF8(s, "?")
	if !utf8ok {
		s = norm.NFKD.String(s)
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || unicode.IsSpace(r):
			space = true
			continue
		case !utf8ok && unicode.Is(unicode.Mn, r):
			continue // an accent split off by NFKD
		case !utf8ok && r >= utf8.RuneSelf:
			r = '?'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// subTruncate cuts s to at most n octets without splitting a rune.
func subTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func subEnhString(e smtp.EnhancedCode) string {
	return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2])
}

// subWalkError maps an error of mimewalk.Walk to the reply: the policy
// or format text for the user, 552 for an oversized message, else ok is
// false (log it and answer subErrTemp).
func subWalkError(err error, utf8ok bool) (*smtp.SMTPError, bool) {
	if errors.Is(err, smtp.ErrDataTooLarge) {
		return smtp.ErrDataTooLarge, true
	}
	code, enh, text, ok := mimewalk.SMTPStatus(err)
	if !ok {
		return nil, false
	}
	e := smtp.EnhancedCode(enh)
	return &smtp.SMTPError{Code: code, EnhancedCode: e, Message: subReplyText(text, e, utf8ok)}, true
}
