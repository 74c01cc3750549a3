package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/smtpd/authcheck"
	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// data receives the message in one pass (raw blob, MIME walk with the
// attachment policy, DKIM), then decides and stores. Nothing is answered
// 250 before every store it needs has returned (durable); on any refusal
// or failure the blobs are deleted, so nothing is left half-stored.
func (sess *session) data(r io.Reader) error {
	ctx := sess.s.ctx
	tx := sess.tx
	in := r
	var chk *authcheck.Check
	if a := sess.s.cfg.Auth; a != nil {
		chk = a.Begin(ctx, authcheck.Envelope{RemoteIP: sess.ip, Helo: sess.helo, MailFrom: tx.from})
		in = io.TeeReader(r, chk)
	}
	cr := &countingReader{r: in}
	res, err := sess.s.walker.Walk(ctx, cr)
	tx.size = cr.n
	if err != nil {
		if chk != nil {
			chk.Abort()
		}
		return sess.walkError(err)
	}
	tx.defects = res.Defects
	if name, cut := truncatedAttachment(res); cut {
		if chk != nil {
			chk.Abort()
		}
		sess.discard(res)
		return refuse("truncated", 554, smtp.EnhancedCode{5, 6, 0},
			"the message is truncated: attachment %s ends before its MIME part does; please send it again", name)
	}
	var verdict *authcheck.Verdict
	if chk != nil {
		verdict = chk.Finish(ctx, res.Header)
		if verdict.Reject {
			sess.discard(res)
			code, enh, text := verdict.RejectReply()
			return &refusal{Code: code, Enhanced: enh, Text: text, Reason: "dmarc"}
		}
	}
	// Decide everything first, so a refusal for one recipient never
	// follows a store for another.
	m := sess.message(res, verdict)
	plans := make([]plan, len(tx.rcpts))
	for i, rc := range tx.rcpts {
		if plans[i], err = sess.plan(ctx, rc, res, m); err != nil {
			sess.discard(res)
			return err
		}
	}
	kept := false // a stored message refers to the blobs
	for _, p := range plans {
		if err := sess.execute(ctx, p, res, &kept); err != nil {
			if !kept {
				sess.discard(res)
			}
			return err
		}
	}
	if !kept {
		sess.discard(res)
	}
	sess.s.metrics.stored(res.RawSize)
	return nil
}

// walkError maps a failed walk to the reply.
func (sess *session) walkError(err error) error {
	if code, enh, text, ok := mimewalk.SMTPStatus(err); ok {
		reason := "format"
		if mimewalk.IsPolicy(err) {
			reason = "policy"
		}
		return &refusal{Code: code, Enhanced: enh, Text: text, Reason: reason, Cause: err}
	}
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se): // go-smtp's reader: ErrDataTooLarge
		return &refusal{Code: se.Code, Enhanced: se.EnhancedCode, Text: se.Message, Reason: "size", Cause: err}
	case errors.Is(err, smtp.ErrTooLongLine):
		return &refusal{Code: 500, Enhanced: smtp.EnhancedCode{5, 5, 2}, Reason: "line_length", Cause: err,
			Text: fmt.Sprintf("line too long: the limit is %d octets per line", sess.s.cfg.MaxLineLength)}
	case errors.Is(err, io.ErrUnexpectedEOF) || isNetError(err):
		// The client is gone: nothing to answer, nothing was stored.
		return &refusal{Code: 451, Enhanced: smtp.EnhancedCode{4, 4, 2}, Text: "connection lost", Reason: "aborted", Cause: err}
	}
	return err
}

// truncatedAttachment reports an attachment cut short by the end of the
// message. The walker tolerates it (like mail clients), but storing a
// damaged file as if it were the partner's would lose their data
// silently; other defects (unknown charsets, missing boundaries) keep
// the message whole and readable and are only logged.
func truncatedAttachment(res *mimewalk.Result) (string, bool) {
	for _, d := range res.Defects {
		if name, ok := strings.CutPrefix(d, "attachment "); ok {
			if name, ok := strings.CutSuffix(name, " cut short by the end of the message"); ok {
				return name, true
			}
		}
	}
	return "", false
}

// discard deletes the blobs of a walk that will not be stored.
func (sess *session) discard(res *mimewalk.Result) {
	ctx := context.WithoutCancel(sess.s.ctx)
	if err := sess.s.walker.Discard(ctx, res); err != nil {
		sess.s.cfg.Logger.Warn("discard blobs", "id", sess.tx.id, "err", err)
	}
}

// countingReader counts the octets of DATA, for the log.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// execute carries out one plan: a thread message, a bounce record or an
// unsubscription. *kept is set once a stored message refers to the blobs.
func (sess *session) execute(ctx context.Context, p plan, res *mimewalk.Result, kept *bool) error {
	st := sess.s.cfg.Store
	rc := p.rc
	switch rc.kind {
	case threading.KindBounce:
		return sess.bounce(ctx, rc, res)
	case threading.KindUnsubscribe:
		if err := st.SetMemberNotifications(ctx, rc.company.ID, rc.tok.MemberID, false); err != nil {
			return fmt.Errorf("unsubscribe member %d: %w", rc.tok.MemberID, err)
		}
		sess.s.cfg.Logger.Info("member unsubscribed by mail", "id", sess.tx.id, "company", rc.company.ID, "member", rc.tok.MemberID)
		return nil
	}
	m, created, err := st.Deliver(ctx, p.delivery)
	if err != nil {
		return fmt.Errorf("deliver to %s: %w", rc.addr, err)
	}
	*kept = true
	sess.tx.msgID = m.MessageID
	sess.tx.threads = append(sess.tx.threads, m.ThreadID)
	sess.tx.attached = len(m.Attachments)
	if created && sess.s.cfg.Hub != nil {
		// Wakes IMAP IDLE; an auto-reply is visible there too (outside
		// Unread), it only never causes an email.
		if err := sess.s.cfg.Hub.Publish(ctx, notify.Mail, rc.company.ID); err != nil {
			sess.s.cfg.Logger.Warn("publish new mail", "id", sess.tx.id, "err", err)
		}
	}
	return nil
}

// bounce records a delivery status notification sent to bounce+TOKEN.
// What cannot be read as a bounce is accepted and dropped (no
// backscatter, and the sender would only retry).
func (sess *session) bounce(ctx context.Context, rc *recipient, res *mimewalk.Result) error {
	log := sess.s.cfg.Logger.With("id", sess.tx.id, "company", rc.company.ID, "member", rc.tok.MemberID)
	blob, err := sess.s.cfg.Store.Blobs().Open(ctx, res.RawKey)
	if err != nil {
		return fmt.Errorf("open bounce: %w", err)
	}
	dsn, err := threading.ParseDSN(blob)
	blob.Close()
	if err != nil {
		log.Info("bounce not understood, dropped", "err", err)
		return nil
	}
	sev := dsn.Severity()
	if sev == threading.SeverityNone {
		log.Info("delivery report without failure, dropped")
		return nil
	}
	b := storage.Bounce{MemberID: rc.tok.MemberID, Hard: sev == threading.SeverityHard, Detail: dsn.Summary()}
	if b.MemberID == 0 && len(dsn.Recipients) > 0 {
		b.Email = dsn.Recipients[0].FinalRecipient
	}
	if _, err := sess.s.cfg.Store.RecordBounce(ctx, rc.company.ID, b); err != nil {
		return fmt.Errorf("record bounce: %w", err)
	}
	log.Info("bounce recorded", "severity", sev.String(), "detail", b.Detail)
	if b.Hard && rc.tok.EmailID != 0 {
		sess.bounceEmail(ctx, rc, b.Detail, log)
	}
	return nil
}

// emailBouncer is the store's BounceEmail (sqlstore), when it has one.
type emailBouncer interface {
	BounceEmail(ctx context.Context, companyID, emailID int64, detail string) error
}

// bounceEmail marks the outbound email a hard DSN reports as failed, so the
// staff message it notified shows $Bounced in Sent even though the relay
// had accepted it (submission helper's addition).
func (sess *session) bounceEmail(ctx context.Context, rc *recipient, detail string, log *slog.Logger) {
	eb, ok := sess.s.cfg.Store.(emailBouncer)
	if !ok {
		return
	}
	if err := eb.BounceEmail(ctx, rc.company.ID, rc.tok.EmailID, detail); err != nil {
		log.Warn("bounce: mark outbound email failed", "email", rc.tok.EmailID, "err", err)
		return
	}
	if sess.s.cfg.Hub != nil {
		if err := sess.s.cfg.Hub.Publish(ctx, notify.Mail, rc.company.ID); err != nil {
			log.Warn("publish bounce", "err", err)
		}
	}
}
