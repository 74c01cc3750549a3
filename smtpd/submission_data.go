package smtpd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// subHeaderScan bounds how much of the header Data looks at for a
// Message-ID and a Date before streaming the message on.
const subHeaderScan = 256 << 10

// Data stores the message once (raw and parsed, through the walker, with
// the attachment policy) and posts it to every accepted audience: one
// staff message per thread, each queueing its notifications.
func (ss *subSession) Data(r io.Reader) error {
	if ss.staff == nil {
		return subErrAuthRequired
	}
	if !ss.s.setBusy(ss, true) {
		return subErrShutdown
	}
	defer ss.s.setBusy(ss, false)
	ctx := ss.s.ctx
	log := ss.s.cfg.Logger
	now := ss.s.cfg.Now()
	r, genID, err := subCompleteHeader(r, ss.company, now)
	if err != nil {
		if se, ok := subWalkError(err, ss.utf8); ok {
			ss.logTx("refused", 0, err, "code", se.Code)
			return se
		}
		ss.logTx("failed", 0, err)
		return subErrTemp
	}
	res, err := ss.s.walker.Walk(ctx, r)
	if err != nil {
		se, ok := subWalkError(err, ss.utf8)
		if !ok {
			ss.logTx("failed", res.RawSize, err)
			return subErrTemp
		}
		ss.logTx("refused", res.RawSize, err, "code", se.Code)
		return se
	}
	if se := ss.checkFrom(res); se != nil {
		ss.s.walker.Discard(ctx, res)
		ss.logTx("refused", res.RawSize, errors.New(se.Message), "code", se.Code)
		return se
	}
	msg := ss.message(res, genID, now)

	var posted []string // team names the message was recorded for
	var temp, perm []error
	var refusal *smtp.SMTPError // the first permanent refusal, unfolded
	for _, t := range ss.targets {
		m, created, err := ss.s.cfg.Poster.Post(ctx, outbound.Post{
			CompanyID: ss.company.ID, StaffID: ss.staff.ID,
			ThreadID: t.threadID, TeamID: t.teamID, MemberID: t.memberID,
			Message: msg,
		})
		if err == nil {
			posted = append(posted, t.team)
			log.Info("submission: posted", "id", ss.id, "rcpt", t.rcpt, "team", t.team, "thread", m.ThreadID, "message", m.ID, "created", created)
			continue
		}
		se := subPostError(t, err)
		if se == nil {
			log.Error("submission: post", "id", ss.id, "rcpt", t.rcpt, "err", err)
			temp = append(temp, err)
			continue
		}
		log.Info("submission: post refused", "id", ss.id, "rcpt", t.rcpt, "err", err)
		perm = append(perm, err)
		if refusal == nil {
			refusal = se
		}
	}
	if len(posted) == 0 {
		// Nothing refers to the blobs: a retry stores them again.
		if derr := ss.s.walker.Discard(ctx, res); derr != nil {
			log.Warn("submission: discard blobs", "id", ss.id, "err", derr)
		}
	}
	switch {
	case len(temp) > 0:
		// The client retries the whole message; the posts that went
		// through are found by Message-ID and not stored twice.
		ss.logTx("failed", res.RawSize, errors.Join(temp...), "posted", posted)
		return subErrTemp
	case len(perm) > 0:
		text := refusal.Message
		if len(posted) > 0 {
			text += "; the message was sent to: " + strings.Join(posted, ", ")
		}
		ss.logTx("refused", res.RawSize, errors.Join(perm...), "posted", posted)
		return &smtp.SMTPError{Code: refusal.Code, EnhancedCode: refusal.EnhancedCode,
			Message: subReplyText(text, refusal.EnhancedCode, ss.utf8)}
	}
	ss.logTx("posted", res.RawSize, nil, "posted", posted, "message_id", msg.MessageID)
	return nil
}

// subPostError maps a Poster error to a permanent refusal with its text
// unfolded, or nil for a temporary failure.
func subPostError(t subTarget, err error) *smtp.SMTPError {
	var de *outbound.DisabledError
	if errors.As(err, &de) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: subEnhNotPartner, Message: subDisabledText(t.team, de.Group, de.Text)}
	}
	if errors.Is(err, outbound.ErrNoAudience) {
		return subRefuse(550, subEnhBadMailbox, "<%s>: this conversation, team or member no longer exists", t.rcpt)
	}
	return nil
}

// checkFrom refuses a message whose From header is not the authenticated
// staff member: the message is shown in the shared Sent folder as theirs.
func (ss *subSession) checkFrom(res *mimewalk.Result) *smtp.SMTPError {
	from, err := res.Header.AddressList("From")
	if err == nil && len(from) == 1 && strings.EqualFold(from[0].Address, ss.staff.Email) {
		return nil
	}
	return subRefuse(550, subEnhNotPartner, "The From header must be your own address <%s>", ss.staff.Email)
}

// message is the staff message to post, from the walk.
func (ss *subSession) message(res *mimewalk.Result, genID string, now time.Time) storage.Message {
	h := res.Header
	subject, err := h.Subject()
	if err != nil {
		subject = h.Get("Subject")
	}
	msgID := genID
	if ids := threading.ParseMessageIDList(h.Get("Message-Id")); len(ids) > 0 {
		msgID = ids[0]
	}
	var inReplyTo string
	if ids := threading.ParseMessageIDList(h.Get("In-Reply-To")); len(ids) > 0 {
		inReplyTo = ids[0]
	}
	date, err := h.Date()
	if err != nil || date.IsZero() {
		date = now
	}
	return storage.Message{
		CompanyID:     ss.company.ID,
		Direction:     storage.DirectionOut,
		AuthorStaffID: ss.staff.ID,
		MessageID:     msgID,
		InReplyTo:     inReplyTo,
		Subject:       subject,
		FromAddr:      ss.staff.Email,
		Date:          date,
		Size:          res.RawSize,
		RawKey:        res.RawKey,
		Text:          threading.ExtractReply(res.Text, res.HTML),
		Seen:          true, // staff-written messages are born read
		Attachments:   res.Attachments,
	}
}

// subCompleteHeader returns r with a Message-ID and a Date field added in
// front when the header has none (RFC 6409 section 8.2 and 8.3), and the
// Message-ID it added. The Message-ID is what a client's later APPEND of
// its copy to Sent is matched by, and what retried submissions are
// de-duplicated by. Only the header is buffered.
func subCompleteHeader(r io.Reader, co storage.Company, now time.Time) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var head bytes.Buffer
	hasID, hasDate, complete := false, false, false
	for head.Len() < subHeaderScan {
		line, err := br.ReadSlice('\n')
		head.Write(line)
		if err == bufio.ErrBufferFull {
			continue // a long line: the field name was in its first part
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 && err == nil {
			complete = true
			break
		}
		if n := bytes.IndexByte(line, ':'); n > 0 && line[0] != ' ' && line[0] != '\t' {
			switch strings.ToLower(string(bytes.TrimSpace(line[:n]))) {
			case "message-id":
				hasID = true
			case "date":
				hasDate = true
			}
		}
		if err == io.EOF {
			complete = true
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("read header: %w", err)
		}
	}
	var add bytes.Buffer
	var genID string
	if complete && !hasID {
		domain := "localhost"
		if len(co.Domains) > 0 {
			domain = co.Domains[0]
		}
		genID = threading.NewMessageID(domain, now)
		fmt.Fprintf(&add, "Message-ID: <%s>\r\n", genID)
	}
	if complete && !hasDate {
		fmt.Fprintf(&add, "Date: %s\r\n", now.Format(time.RFC1123Z))
	}
	return io.MultiReader(&add, &head, br), genID, nil
}
