// Package mimewalk reads one RFC 5322 message once, as it streams in, and
// splits it into what partnermail stores: the raw bytes (unchanged, into a
// blob), the parsed header, the best text body, and each attachment decoded
// into its own blob, while enforcing the attachment policy of SPEC.md
// ("Inbound SMTP": at most 10 attachments; JPEG, PNG, GIF up to 30 MiB;
// PDF and office documents up to 250 MiB; anything else refused).
//
// The walk is a single pass: the input is read through an io.TeeReader that
// copies every byte to the raw blob while the MIME parser consumes it, so a
// message is never buffered whole and memory does not grow with its size.
// Attachment types are sniffed from their decoded first bytes with
// github.com/gabriel-vasile/mimetype; header types and file names are never
// trusted. Outlook's application/ms-tnef (winmail.dat) is unpacked and each
// file inside is checked and stored as if attached directly.
//
// The inbound listener, the submission listener and the CLI all use the same
// Policy, so a file that is refused on one path is refused on every path
// (the CLI checks files before sending with Policy.CheckFile).
//
// How a listener calls it, at DATA, together with smtpd/authcheck:
//
//	chk := checker.Begin(ctx, authcheck.Envelope{RemoteIP: ip, Helo: helo, MailFrom: from})
//	res, err := walker.Walk(ctx, io.TeeReader(data, chk)) // one pass: raw blob, parse, DKIM
//	if err != nil {
//		chk.Abort()
//		if code, enh, text, ok := mimewalk.SMTPStatus(err); ok {
//			return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text} // 552/554, names the file
//		}
//		log(err) // storage, I/O or ctx: never shown to the client
//		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
//	}
//	v := chk.Finish(ctx, res.Header)
//	if v.Reject { // auth_checks = enforce and DMARC said reject/quarantine
//		walker.Discard(ctx, res)
//		code, enh, text := v.RejectReply() // 550 5.7.1
//		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text}
//	}
//	// store res.RawKey, res.Attachments, v.Value() … in one transaction;
//	// if it fails: walker.Discard(ctx, res) and 451.
//
// Walk reads its input to the end even after a policy violation, so the
// reply comes after the whole DATA as SMTP requires. Error texts may carry a
// non-ASCII file name; the listener's reply writer must fold and escape
// them as it does for disabled_message.
package mimewalk
