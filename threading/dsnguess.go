package threading

import (
	"regexp"
	"strings"
)

var (
	// bouncePhraseRE are the words of bounces that carry no
	// message/delivery-status part.
	bouncePhraseRE = regexp.MustCompile(`(?i)mail delivery failed|undeliver|delivery status notification|could not be delivered|couldn't be delivered|delivery has failed|returned mail|failure notice|delivery failure|message not delivered|permanent error|temporary error|delivery incomplete|unzustellbar|nicht zugestellt|non remis|n'a pas pu être remis|no se ha podido entregar|no se pudo entregar|non recapitabile|onbestelbaar`)
	// smtpReplyRE is a 4xx/5xx SMTP reply at the start of a line, maybe
	// after "said:" (qmail: "Remote host said: 550 …").
	smtpReplyRE = regexp.MustCompile(`(?i)^(?:.*(?:said|response|reply|error)\s*:\s*)?([45][0-9][0-9])(?:[ -]|$)`)
	// bounceAddrRE is a line holding one address, the way Exim ("  a@b"),
	// qmail ("<a@b>:") and Postfix ("<a@b>: host …") list failed ones.
	bounceAddrRE = regexp.MustCompile(`^\s*<?([^\s<>@"]+@[A-Za-z0-9.-]+)>?:?(?:\s|$)`)
	rcptToRE     = regexp.MustCompile(`(?i)rcpt to:\s*<([^\s<>@"]+@[A-Za-z0-9.-]+)>`)
	permanentRE  = regexp.MustCompile(`(?i)permanent error|permanently|does not exist|user unknown|unknown user|no such user|mailbox unavailable|address rejected|recipient rejected`)
	temporaryRE  = regexp.MustCompile(`(?i)temporary (?:error|failure|problem)|will (?:retry|try again)|delayed|not yet been delivered|mailbox (?:is )?full|over quota`)
)

// maxGuessLines bounds the lines guessBounce looks at, maxGuessLine the
// length of a line it matches against.
const (
	maxGuessLines = 5000
	maxGuessLine  = 1000
)

// guessBounce reads a bounce without a delivery-status part: the status
// from the first enhanced status code, else from the first SMTP reply
// code, else from its wording; the recipients from the address lines
// near the top. ok is false when the text does not read like a bounce.
func guessBounce(text string) (DSN, bool) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) > maxGuessLines {
		lines = lines[:maxGuessLines]
	}
	var status, diag string
	for _, l := range lines {
		if s := enhancedStatus(l); s != "" && s[0] != '2' {
			status, diag = s, strings.TrimSpace(l)
			break
		}
	}
	if status == "" {
		for _, l := range lines {
			if len(l) > maxGuessLine {
				continue
			}
			if m := smtpReplyRE.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
				status, diag = m[1][:1]+".0.0", strings.TrimSpace(l)
				break
			}
		}
	}
	phrase := bouncePhraseRE.MatchString(text)
	if status == "" {
		switch {
		case !phrase:
			return DSN{}, false
		case temporaryRE.MatchString(text):
			status = "4.0.0"
		case permanentRE.MatchString(text):
			status = "5.0.0"
		default:
			return DSN{}, false
		}
	}
	if !phrase && enhancedStatus(diag) == "" {
		return DSN{}, false // a bare "550" somewhere is not enough
	}
	if len(diag) > maxDSNValue {
		diag = diag[:maxDSNValue]
	}
	action := "failed"
	if status[0] == '4' && temporaryRE.MatchString(text) && !permanentRE.MatchString(text) {
		action = "delayed"
	}
	d := DSN{}
	seen := map[string]bool{}
	for _, l := range lines {
		if len(l) > maxGuessLine {
			continue
		}
		m := rcptToRE.FindStringSubmatch(l)
		if m == nil {
			m = bounceAddrRE.FindStringSubmatch(l)
		}
		if m == nil || seen[strings.ToLower(m[1])] {
			continue
		}
		seen[strings.ToLower(m[1])] = true
		d.Recipients = append(d.Recipients, DSNRecipient{FinalRecipient: m[1], Action: action, Status: status, Diagnostic: diag})
		if len(d.Recipients) >= 10 {
			break
		}
	}
	if len(d.Recipients) == 0 {
		d.Recipients = []DSNRecipient{{Action: action, Status: status, Diagnostic: diag}}
	}
	return d, true
}
