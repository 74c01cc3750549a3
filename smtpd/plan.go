package smtpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/partnermail/partnermail/smtpd/authcheck"
	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// plan is what DATA will do for one recipient.
type plan struct {
	rc       *recipient
	delivery storage.Delivery // for the thread kinds
}

// message builds the stored message from the walk; the thread and author
// are filled in per recipient.
func (sess *session) message(res *mimewalk.Result, v *authcheck.Verdict) storage.Message {
	h := res.Header
	m := storage.Message{
		Direction:   storage.DirectionIn,
		Size:        res.RawSize,
		RawKey:      res.RawKey,
		Text:        threading.ExtractReply(res.Text, res.HTML),
		Attachments: res.Attachments,
	}
	if ids := threading.ParseMessageIDList(h.Get("Message-Id")); len(ids) > 0 {
		m.MessageID = ids[0]
	} else {
		m.MessageID = threading.NewMessageID(sess.s.cfg.Hostname, sess.s.cfg.Clock())
	}
	if ids := threading.ParseMessageIDList(h.Get("In-Reply-To")); len(ids) > 0 {
		m.InReplyTo = ids[0]
	}
	var err error
	if m.Subject, err = h.Subject(); err != nil {
		m.Subject = h.Get("Subject")
	}
	m.Subject = strings.ToValidUTF8(m.Subject, "\uFFFD")
	if d, err := h.Date(); err == nil {
		m.Date = d
	}
	m.AutoReply, _ = threading.IsAutoReply(&h, sess.tx.from)
	if v != nil {
		m.AuthResults = v.Value()
	}
	return m
}

// plan checks the sender of one recipient's mail and resolves its thread.
func (sess *session) plan(ctx context.Context, rc *recipient, res *mimewalk.Result, m storage.Message) (plan, error) {
	p := plan{rc: rc}
	if rc.kind == threading.KindBounce || rc.kind == threading.KindUnsubscribe {
		return p, nil
	}
	author, err := sess.author(ctx, rc, res)
	if err != nil {
		return p, err
	}
	m.CompanyID = rc.company.ID
	m.AuthorMemberID = author.ID
	m.FromAddr = author.Email
	d := storage.Delivery{Message: m}
	switch rc.kind {
	case threading.KindReply:
		d.ThreadID = rc.thread.ID
	case threading.KindCampaign:
		d.NewThread = storage.Thread{CompanyID: rc.company.ID, TeamID: rc.member.TeamID,
			MemberID: rc.member.ID, CampaignID: rc.tok.CampaignID, Subject: m.Subject}
	case threading.KindPartners:
		r, err := threading.Resolve(ctx, sess.s.cfg.Store, rc.company.ID, threading.Recipient{Kind: rc.kind},
			res.Header.Get("In-Reply-To"), res.Header.Get("References"))
		if err != nil {
			return p, fmt.Errorf("resolve thread: %w", err)
		}
		if r.ThreadID != 0 {
			// A header match counts only inside the author's own
			// conversations; otherwise a partner could write into
			// another team's thread by quoting its Message-ID.
			t, err := sess.s.cfg.Store.Thread(ctx, rc.company.ID, r.ThreadID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return p, fmt.Errorf("load thread %d: %w", r.ThreadID, err)
			}
			if err == nil && t.TeamID == author.TeamID && (t.MemberID == 0 || t.MemberID == author.ID) {
				d.ThreadID = t.ID
			}
		}
		if d.ThreadID == 0 {
			d.NewThread = storage.Thread{CompanyID: rc.company.ID, TeamID: author.TeamID, MemberID: author.ID, Subject: m.Subject}
		}
	}
	p.delivery = d
	return p, nil
}

// author is the sender check (SPEC.md "Inbound SMTP"): the From address
// must be the token's member or, for a team conversation, a member of
// that team; mail to the general address must come from a member of the
// envelope sender's team.
func (sess *session) author(ctx context.Context, rc *recipient, res *mimewalk.Result) (storage.Member, error) {
	from := fromAddress(res)
	if from == "" {
		return storage.Member{}, refuse("sender", 550, enhPolicy, "the message has no valid From address")
	}
	m, err := rc.member, error(nil)
	if m.ID == 0 || !strings.EqualFold(m.Email, from) { // usually From is the member RCPT loaded
		m, err = sess.s.cfg.Store.MemberByEmail(ctx, rc.company.ID, from)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return m, refuse("sender", 550, enhPolicy,
			"<%s> is not a partner member allowed to write to <%s>; please reply from the address our message was sent to", from, rc.addr)
	} else if err != nil {
		return m, fmt.Errorf("find member %s: %w", from, err)
	}
	ok := false
	switch rc.kind {
	case threading.KindReply:
		t := rc.thread
		ok = m.ID == rc.tok.MemberID || m.ID == t.MemberID || (t.MemberID == 0 && m.TeamID == t.TeamID)
	case threading.KindCampaign:
		ok = m.ID == rc.member.ID
	case threading.KindPartners:
		ok = m.TeamID == rc.member.TeamID
	}
	if !ok {
		return m, refuse("sender", 550, enhPolicy,
			"<%s> is not a participant of the conversation at <%s>; please reply from the address our message was sent to", from, rc.addr)
	}
	return m, nil
}

// fromAddress is the first address of the From field, lower case.
func fromAddress(res *mimewalk.Result) string {
	list, err := res.Header.AddressList("From")
	if err == nil && len(list) > 0 {
		return strings.ToLower(list[0].Address)
	}
	// Unparsable display names are common; the address in <…> is enough.
	v := res.Header.Get("From")
	if i, j := strings.LastIndexByte(v, '<'), strings.LastIndexByte(v, '>'); i >= 0 && j > i {
		if _, _, ok := threading.SplitAddress(v[i+1 : j]); ok {
			return strings.ToLower(strings.TrimSpace(v[i+1 : j]))
		}
	}
	return ""
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed)
}
