// Package smtpd is the inbound SMTP listener: partners' mail servers
// deliver replies, campaign responses, bounces and unsubscriptions to the
// gateway's addresses here (SPEC.md "Mail addresses", "Inbound SMTP").
//
// A transaction goes:
//
//   - RCPT: the domain names the company (anything else is a relay
//     attempt, 550 5.7.1); the local part is classified and its token
//     verified for that company (550 5.1.1); a token or sender whose
//     partner team is in a group with messaging disabled gets that
//     group's redirect text as a multi-line 550 5.7.1.
//   - DATA: one pass through io.TeeReader feeds the DKIM verifier
//     (smtpd/authcheck) and the MIME walker (smtpd/mimewalk), which spools
//     the raw message and each decoded attachment into blobs while it
//     enforces the attachment policy. Then the From is checked against
//     the conversation, the thread resolved (token, then
//     In-Reply-To/References, then a new thread; see package threading)
//     and the message stored with storage's Deliver. 250 is answered only
//     after Deliver returned, that is after the commit; any refusal or
//     failure deletes the blobs, so nothing is left half-stored.
//
// Every reply the client sees comes from a *refusal through
// session.reply, which turns it into the bare *smtp.SMTPError go-smtp
// expects; any other error is logged and answered 451 4.3.0. Each
// transaction writes one log line (id, peer, sender, recipients, outcome,
// size, duration).
//
// Connection limits (total, per address, new connections per second per
// address) are enforced by the listener wrapper before go-smtp sees a
// connection.
//
// The submission listener (submission*.go, SPEC.md "SMTP submission") is
// the staff side of the same package: AUTH PLAIN/LOGIN over TLS (plain on
// loopback only in dev mode) with a failed-login limiter, MAIL FROM bound
// to the logged-in staff member, each RCPT decided against the staff
// member's own company (thread+TOKEN, team+SLUG, a member's address;
// anything else 550 5.7.1, never a relay), the same MIME walk and
// attachment policy at DATA, and one outbound.Poster call per audience.
package smtpd
