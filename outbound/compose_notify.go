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

// notification composes the email telling one member about a staff
// message.
func (c *TemplateComposer) notification(ctx context.Context, row storage.OutboundEmail) (*Email, error) {
	st := c.cfg.Store
	msg, err := st.Message(ctx, row.CompanyID, row.MessageRowID)
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", row.MessageRowID, err)
	}
	co, err := st.Company(ctx, row.CompanyID)
	if err != nil {
		return nil, fmt.Errorf("company: %w", err)
	}
	th, err := st.Thread(ctx, row.CompanyID, msg.ThreadID)
	if err != nil {
		return nil, fmt.Errorf("thread %d: %w", msg.ThreadID, err)
	}
	team, err := st.Team(ctx, row.CompanyID, th.TeamID)
	if err != nil {
		return nil, fmt.Errorf("team %d: %w", th.TeamID, err)
	}
	member, err := st.Member(ctx, row.CompanyID, row.MemberID)
	if err != nil {
		return nil, fmt.Errorf("member %d: %w", row.MemberID, err)
	}
	author := c.staffName(ctx, co, msg.AuthorStaffID)
	thread, err := st.ThreadMessages(ctx, row.CompanyID, th.ID)
	if err != nil {
		return nil, fmt.Errorf("thread %d messages: %w", th.ID, err)
	}
	earlier := before(thread, msg.ID)

	subject := msg.Subject
	if subject == "" {
		subject = th.Subject
	}
	m, bounce, unsub, err := c.newMsg(head{
		row: row, company: co, member: member, fromName: author, subject: subject, date: msg.Date,
		replyTo: threading.Token{Kind: threading.KindReply, CompanyID: co.ID, ThreadID: th.ID, MemberID: member.ID},
	})
	if err != nil {
		return nil, err
	}
	if refs := references(earlier); len(refs) > 0 {
		inReplyTo := refs[len(refs)-1]
		if msg.InReplyTo != "" {
			inReplyTo = msg.InReplyTo
		}
		m.SetGenHeader(gomail.HeaderInReplyTo, bracket([]string{inReplyTo}))
		m.SetGenHeader(gomail.HeaderReferences, bracket(refs))
	}
	m.SetGenHeader("Thread-Topic", headerText(topic(th.Subject)))
	m.SetGenHeader("Thread-Index", threadIndex(co.ID, th, append(earlier, msg)))

	data := templates.Notification{
		Company: headerText(co.Name), Author: headerText(author), Team: headerText(team.Name),
		Recipient: headerText(member.Name), Subject: headerText(subject), Text: normalizeText(msg.Text),
		Unsubscribe: unsub,
	}
	for _, a := range msg.Attachments {
		data.Attachments = append(data.Attachments, templates.Attachment{Name: headerText(a.Filename), Size: a.Size})
	}
	if prev, ok := lastReal(earlier); ok {
		data.Previous = &templates.Quote{Author: headerText(c.authorName(ctx, co, prev)), Date: prev.Date, Text: normalizeText(prev.Text)}
	}
	text, html, err := c.cfg.Templates.Render(co.Slug, templates.NotificationName, data)
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

// references returns the Message-IDs of earlier messages, oldest first,
// trimmed to the first and the latest.
func references(earlier []storage.Message) []string {
	var ids []string
	for _, m := range earlier {
		if m.MessageID != "" && !m.AutoReply {
			ids = append(ids, m.MessageID)
		}
	}
	if len(ids) > maxReferences {
		ids = append(ids[:1], ids[len(ids)-maxReferences+1:]...)
	}
	return ids
}

// staffName is the display name of a staff member, the company's name
// when the staff member is gone or has no name.
func (c *TemplateComposer) staffName(ctx context.Context, co storage.Company, id int64) string {
	if id != 0 {
		if s, err := c.cfg.Store.StaffByID(ctx, co.ID, id); err == nil {
			if s.Name != "" {
				return s.Name
			}
			return s.Email
		}
	}
	return co.Name
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
