package outbound

import (
	"errors"
	"strings"

	"github.com/wneessen/go-mail"

	"github.com/partnermail/partnermail/storage"
)

// outcome is what one failed attempt means for its email.
type outcome struct {
	permanent bool // never try again
	bounce    bool // record a bounce for the member
	hard      bool // the recipient address was refused: notifications off
	code      int  // SMTP reply code, 0 when there was no reply
}

// PermanentError marks an error that no retry can cure (a Composer whose
// message or member is gone, a malformed email). Transports and composers
// wrap such errors in it; everything unknown is temporary.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// classify decides, once for the whole package, whether a failed attempt
// is temporary or permanent, from the relay's reply code: 5xx is
// permanent, 4xx and anything without a reply code (network errors) is
// temporary. The relay transport reports *SMTPError; go-mail's own
// *mail.SendError is read the same way — never its IsTemp, which go-mail
// derives from the first character of the error text and so calls a
// network error permanent.
func classify(err error) outcome {
	var re *SMTPError
	if errors.As(err, &re) {
		return fromCode(re.Code, re.Stage == "RCPT", re.Enhanced)
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 400 {
			return fromCode(code, se.Reason == mail.ErrSMTPRcptTo, se.EnhancedStatusCode())
		}
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			return outcome{permanent: true} // the email itself is wrong
		}
		return outcome{}
	}
	var pe *PermanentError
	if errors.As(err, &pe) || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrInvalid) {
		return outcome{permanent: true}
	}
	return outcome{}
}

// fromCode classifies a reply code. A refused recipient (at RCPT, or with a
// 5.1.x status) is a hard bounce: the address does not take mail. Other
// refusals (of the sender, of the content) are bounces too, but say
// nothing final about the address.
func fromCode(code int, atRcpt bool, enhanced string) outcome {
	switch {
	case code >= 500 && code < 600:
		return outcome{permanent: true, bounce: true, hard: atRcpt || strings.HasPrefix(enhanced, "5.1."), code: code}
	default:
		return outcome{code: code}
	}
}
