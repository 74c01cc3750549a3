package outbound

import (
	"context"
	"fmt"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/templates"
	"github.com/partnermail/partnermail/threading"
)

// maxReferences bounds the References header: the first Message-ID of
// the conversation and the latest ones (RFC 5322 section 3.6.4 lets a
// long list be trimmed that way).
const maxReferences = 20

// notice is what the emails of one staff message share.
type notice struct {
	msg     storage.Message
	thread  storage.Thread
	team    storage.Team
	earlier []ref            // the earlier messages References may name
	index   string           // Thread-Index
	author  string           // display name of msg's author
	prev    *templates.Quote // the message quoted below msg, if any
}

// notice loads (or finds cached) what the emails of a staff message
// share.
func (c *TemplateComposer) notice(ctx context.Context, co storage.Company, id int64) (*notice, error) {
	return c.notices.get([2]int64{co.ID, id}, func() (*notice, error) {
		st := c.cfg.Store
		n := &notice{}
		var err error
		if n.msg, err = st.Message(ctx, co.ID, id); err != nil {
			return nil, fmt.Errorf("message %d: %w", id, err)
		}
		if n.thread, err = st.Thread(ctx, co.ID, n.msg.ThreadID); err != nil {
			return nil, fmt.Errorf("thread %d: %w", n.msg.ThreadID, err)
		}
		if n.team, err = c.team(ctx, co.ID, n.thread.TeamID); err != nil {
			return nil, err
		}
		thread, err := st.ThreadMessages(ctx, co.ID, n.thread.ID)
		if err != nil {
			return nil, fmt.Errorf("thread %d messages: %w", n.thread.ID, err)
		}
		earlier := before(thread, n.msg.ID)
		n.earlier = refsOf(earlier)
		n.index = threadIndex(co.ID, n.thread, append(earlier, n.msg))
		n.author = c.staffName(ctx, co, n.msg.AuthorStaffID)
		if prev, ok := lastReal(earlier); ok {
			n.prev = &templates.Quote{Author: headerText(c.authorName(ctx, co, prev)), Date: prev.Date, Text: normalizeText(prev.Text)}
		}
		return n, nil
	})
}

// notification composes the email telling one member about a staff
// message.
func (c *TemplateComposer) notification(ctx context.Context, row storage.OutboundEmail) (*Email, error) {
	co, err := c.company(ctx, row.CompanyID)
	if err != nil {
		return nil, err
	}
	n, err := c.notice(ctx, co, row.MessageRowID)
	if err != nil {
		return nil, err
	}
	member, err := c.cfg.Store.Member(ctx, row.CompanyID, row.MemberID)
	if err != nil {
		return nil, fmt.Errorf("member %d: %w", row.MemberID, err)
	}
	msg, th := n.msg, n.thread
	subject := msg.Subject
	if subject == "" {
		subject = th.Subject
	}
	m, bounce, unsub, err := c.newMsg(head{
		row: row, company: co, member: member, fromName: n.author, subject: subject, date: msg.Date,
		replyTo: threading.Token{Kind: threading.KindReply, CompanyID: co.ID, ThreadID: th.ID, MemberID: member.ID},
	})
	if err != nil {
		return nil, err
	}
	seen, err := c.memberEmailIDs(ctx, co.ID, th.ID, member.ID)
	if err != nil {
		return nil, err
	}
	if refs, inReplyTo := references(n.earlier, msg.InReplyTo, seen); len(refs) > 0 {
		m.SetGenHeader(gomail.HeaderInReplyTo, bracket([]string{inReplyTo}))
		m.SetGenHeader(gomail.HeaderReferences, bracket(refs))
	}
	m.SetGenHeader("Thread-Topic", headerText(topic(th.Subject)))
	m.SetGenHeader("Thread-Index", n.index)

	data := templates.Notification{
		Company: headerText(co.Name), Author: headerText(n.author), Team: headerText(n.team.Name),
		Recipient: headerText(member.Name), Subject: headerText(subject), Text: normalizeText(msg.Text),
		Previous: n.prev, Unsubscribe: unsub,
	}
	for _, a := range msg.Attachments {
		data.Attachments = append(data.Attachments, templates.Attachment{Name: headerText(a.Filename), Size: a.Size})
	}
	text, html, err := c.tpl.Load().Render(co.Slug, templates.NotificationName, data)
	if err != nil {
		return nil, err
	}
	setBody(m, text, html)
	em := &Email{From: bounce, To: row.Rcpt, Msg: m}
	if err := c.attach(ctx, em, msg.Attachments); err != nil {
		return nil, err
	}
	return em, nil
}

// before returns the messages of thread before the one with id.
func before(thread []storage.Message, id int64) []storage.Message {
	for i, m := range thread {
		if m.ID == id {
			return thread[:i:i]
		}
	}
	return thread[:len(thread):len(thread)]
}

// lastReal is the last message that is not an auto-reply: the one quoted.
func lastReal(msgs []storage.Message) (storage.Message, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if !msgs[i].AutoReply {
			return msgs[i], true
		}
	}
	return storage.Message{}, false
}

// ref is an earlier message of a thread, as References may name it.
type ref struct {
	row   int64  // message row id
	msgID string // its Message-ID
}

// refsOf keeps the earlier messages worth naming: not auto-replies, with
// a Message-ID.
func refsOf(earlier []storage.Message) []ref {
	var refs []ref
	for _, m := range earlier {
		if m.MessageID != "" && !m.AutoReply {
			refs = append(refs, ref{m.ID, m.MessageID})
		}
	}
	return refs
}

// memberEmailsStore is implemented by stores that can tell which
// Message-IDs a member received in a thread (sqlstore does).
type memberEmailsStore interface {
	MemberEmailIDs(ctx context.Context, companyID, threadID, memberID int64) (map[int64]string, error)
}

// memberEmailIDs returns the Message-IDs of the notification emails the
// member was sent in the thread, by staff message; nil when the store
// cannot tell.
func (c *TemplateComposer) memberEmailIDs(ctx context.Context, companyID, threadID, memberID int64) (map[int64]string, error) {
	st, ok := c.cfg.Store.(memberEmailsStore)
	if !ok {
		return nil, nil
	}
	ids, err := st.MemberEmailIDs(ctx, companyID, threadID, memberID)
	if err != nil {
		return nil, fmt.Errorf("thread %d emails of member %d: %w", threadID, memberID, err)
	}
	return ids, nil
}

// references returns the References of an email to a member, oldest
// first, trimmed to the first and the latest, and its In-Reply-To. A
// staff message is named by the Message-ID of the email the member got
// about it (seen), which is what the member's mail client knows; partner
// messages by their own. In-Reply-To is the message the staff message
// answers (inReplyTo, translated the same way) or else the latest.
func references(earlier []ref, inReplyTo string, seen map[int64]string) ([]string, string) {
	ids := make([]string, 0, len(earlier))
	for _, r := range earlier {
		id := r.msgID
		if s, ok := seen[r.row]; ok {
			id = s
		}
		if r.msgID == inReplyTo {
			inReplyTo = id
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, ""
	}
	if inReplyTo == "" {
		inReplyTo = ids[len(ids)-1]
	}
	if len(ids) > maxReferences {
		ids = append(ids[:1], ids[len(ids)-maxReferences+1:]...)
	}
	return ids, inReplyTo
}

// authorName is the name of whoever wrote m.
func (c *TemplateComposer) authorName(ctx context.Context, co storage.Company, m storage.Message) string {
	if m.Direction == storage.DirectionOut {
		return c.staffName(ctx, co, m.AuthorStaffID)
	}
	if m.AuthorMemberID != 0 {
		if mem, err := c.cfg.Store.Member(ctx, co.ID, m.AuthorMemberID); err == nil && mem.Name != "" {
			return mem.Name
		}
	}
	return m.FromAddr
}

// topic is a subject without its reply and forward prefixes, for
// Thread-Topic.
func topic(subject string) string {
	for {
		s := strings.TrimSpace(subject)
		i := strings.IndexByte(s, ':')
		if i < 0 || i > 4 {
			return s
		}
		switch strings.ToLower(s[:i]) {
		case "re", "fw", "fwd", "aw", "sv", "wg":
			subject = s[i+1:]
		default:
			return s
		}
	}
}

// normalizeText gives texts LF line ends (go-mail writes CRLF).
func normalizeText(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
