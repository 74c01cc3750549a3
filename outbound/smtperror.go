package outbound

import (
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
)

// SMTPError is a failed step of an SMTP transaction with the relay: the
// command, and the relay's reply code when it answered (0 for a network
// failure, which says nothing about the email).
type SMTPError struct {
	Stage    string // MAIL, RCPT or DATA
	Code     int    // reply code, 0 without a reply
	Enhanced string // RFC 3463 status code from the reply text, e.g. "5.1.1"
	Text     string // the reply text
	Err      error
}

func (e *SMTPError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s: %d %s", e.Stage, e.Code, e.Text)
	}
	return fmt.Sprintf("%s: %v", e.Stage, e.Err)
}
func (e *SMTPError) Unwrap() error { return e.Err }

var enhancedRe = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})\b`)

func smtpError(stage string, err error) *SMTPError {
	se := &SMTPError{Stage: stage, Err: err}
	var te *textproto.Error
	if errors.As(err, &te) {
		se.Code, se.Text = te.Code, strings.ReplaceAll(te.Msg, "\n", " ")
		if m := enhancedRe.FindStringSubmatch(te.Msg); m != nil {
			se.Enhanced = m[1]
		}
	}
	return se
}
