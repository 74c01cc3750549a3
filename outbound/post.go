package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// DefaultLifetime is how long a queued email is retried before it fails.
const DefaultLifetime = 5 * 24 * time.Hour

// PostStore is what a Poster reads and writes to record staff messages
// and campaigns. *sqlstore.Store implements it.
type PostStore interface {
	CampaignStore
	Company(ctx context.Context, id int64) (storage.Company, error)
	StaffByID(ctx context.Context, companyID, id int64) (storage.Staff, error)
	Thread(ctx context.Context, companyID, id int64) (storage.Thread, error)
	Team(ctx context.Context, companyID, id int64) (storage.Team, error)
	Group(ctx context.Context, companyID, id int64) (storage.Group, error)
	Member(ctx context.Context, companyID, id int64) (storage.Member, error)
	Members(ctx context.Context, companyID, teamID int64) ([]storage.Member, error)
	Deliver(ctx context.Context, d storage.Delivery) (storage.Message, bool, error)
}

// PosterConfig configures a Poster. Zero values mean the defaults.
type PosterConfig struct {
	// Store records messages and queues emails (required).
	Store PostStore
	// Hub is told about every post (notify.Mail: the shared Sent folder
	// changed; notify.Queue: emails are due). Nil: nobody is told.
	Hub      notify.Hub
	Clock    func() time.Time // default time.Now
	Lifetime time.Duration    // of each queued email; default DefaultLifetime
	Log      *slog.Logger     // default: discard
}

// Poster records staff messages and campaigns with one queued email per
// recipient. The CLI and the submission listener share it, so a message
// gets the same checks and the same emails whichever way it was written.
type Poster struct {
	cfg PosterConfig
}

// NewPoster returns a Poster for cfg.
func NewPoster(cfg PosterConfig) (*Poster, error) {
	if cfg.Store == nil {
		return nil, errors.New("outbound: PosterConfig.Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Poster{cfg: cfg}, nil
}

// Post records a staff message in its thread (a new one for p.ThreadID 0)
// and, in the same transaction, queues one email for each recipient: every
// member of the team with email notifications on (team thread), or the one
// member if its notifications are on. The message is recorded even when
// nobody gets an email.
//
// Errors: ErrNoAudience when the thread, team or member is not the
// company's; *DisabledError when the team's group has messaging disabled.
// created is false when the same Message-ID was already recorded in the
// thread (a retransmission): nothing is queued again.
func (p *Poster) Post(ctx context.Context, post Post) (storage.Message, bool, error) {
	st := p.cfg.Store
	aud, err := p.audience(ctx, post)
	if err != nil {
		return storage.Message{}, false, err
	}
	staff, err := st.StaffByID(ctx, post.CompanyID, post.StaffID)
	if err != nil {
		return storage.Message{}, false, fmt.Errorf("author: %w", err)
	}
	co, err := st.Company(ctx, post.CompanyID)
	if err != nil {
		return storage.Message{}, false, fmt.Errorf("company: %w", err)
	}
	now := p.cfg.Clock()
	domain := msgIDDomain(co)

	m := post.Message
	m.CompanyID, m.Direction, m.AuthorStaffID, m.AuthorMemberID = post.CompanyID, storage.DirectionOut, staff.ID, 0
	if m.FromAddr == "" {
		m.FromAddr = staff.Email
	}
	if m.MessageID == "" {
		m.MessageID = threading.NewMessageID(domain, now)
	}
	if m.Date.IsZero() {
		m.Date = now
	}
	d := storage.Delivery{ThreadID: aud.thread, Message: m}
	if aud.thread == 0 {
		d.NewThread = storage.Thread{CompanyID: post.CompanyID, TeamID: aud.team.ID, MemberID: aud.member, Subject: m.Subject}
	}
	for _, r := range aud.rcpts {
		id := threading.NewMessageID(domain, now)
		d.MessageIDs = append(d.MessageIDs, id)
		d.Outbound = append(d.Outbound, storage.OutboundEmail{
			CompanyID: post.CompanyID, MemberID: r.ID, Rcpt: r.Email, MessageID: id,
			ExpiresAt: now.Add(p.cfg.Lifetime),
		})
	}
	msg, created, err := st.Deliver(ctx, d)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			// The thread, team or member went away since we looked.
			return storage.Message{}, false, fmt.Errorf("%w: %w", ErrNoAudience, err)
		}
		return storage.Message{}, false, fmt.Errorf("record staff message: %w", err)
	}
	if !created {
		p.cfg.Log.InfoContext(ctx, "staff message already recorded", "company", post.CompanyID,
			"thread", msg.ThreadID, "message", msg.ID, "msgid", msg.MessageID)
		return msg, false, nil
	}
	p.cfg.Log.InfoContext(ctx, "staff message recorded", "company", post.CompanyID, "thread", msg.ThreadID,
		"message", msg.ID, "staff", staff.ID, "emails", len(d.Outbound), "attachments", len(msg.Attachments))
	p.publish(ctx, post.CompanyID, notify.Mail)
	if len(d.Outbound) > 0 {
		p.publish(ctx, post.CompanyID, notify.Queue)
	}
	return msg, true, nil
}

// audience is who a post goes to.
type audience struct {
	thread int64 // existing thread, or 0
	team   storage.Team
	member int64            // one-member audience, or 0 for the team
	rcpts  []storage.Member // members that get an email
}

// audience resolves and checks the thread, team and member of a post and
// the members that get an email.
func (p *Poster) audience(ctx context.Context, post Post) (audience, error) {
	st := p.cfg.Store
	var a audience
	teamID, memberID := post.TeamID, post.MemberID
	if post.ThreadID != 0 {
		t, err := st.Thread(ctx, post.CompanyID, post.ThreadID)
		if err != nil {
			return a, noAudience(err, "thread %d", post.ThreadID)
		}
		a.thread, teamID, memberID = t.ID, t.TeamID, t.MemberID
	}
	team, err := st.Team(ctx, post.CompanyID, teamID)
	if err != nil {
		return a, noAudience(err, "team %d", teamID)
	}
	a.team, a.member = team, memberID
	g, err := st.Group(ctx, post.CompanyID, team.GroupID)
	if err != nil {
		return a, fmt.Errorf("group of team %q: %w", team.Name, err)
	}
	if !g.MessagesEnabled {
		return a, &DisabledError{Group: g.Name, Text: g.DisabledMessage}
	}
	var members []storage.Member
	if memberID != 0 {
		m, err := st.Member(ctx, post.CompanyID, memberID)
		if err != nil {
			return a, noAudience(err, "member %d", memberID)
		}
		if m.TeamID != team.ID {
			return a, fmt.Errorf("%w: member %s is not in team %q", ErrNoAudience, m.Email, team.Name)
		}
		members = []storage.Member{m}
	} else if members, err = st.Members(ctx, post.CompanyID, team.ID); err != nil {
		return a, noAudience(err, "members of team %q", team.Name)
	}
	for _, m := range members {
		if receives(m) {
			a.rcpts = append(a.rcpts, m)
		}
	}
	return a, nil
}

// receives reports whether a member gets email: notifications on and the
// address not known to be dead.
func receives(m storage.Member) bool {
	return m.EmailNotifications && m.BounceState != storage.BounceHard
}

// noAudience turns a not-found into ErrNoAudience naming what is missing.
func noAudience(err error, format string, args ...any) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNoAudience, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}

// msgIDDomain is the right side of the Message-IDs minted for a company:
// its primary inbound domain, else the domain of its From address.
func msgIDDomain(co storage.Company) string {
	if len(co.Domains) > 0 {
		return co.Domains[0]
	}
	if i := strings.LastIndexByte(co.FromAddr, '@'); i >= 0 {
		return co.FromAddr[i+1:]
	}
	return ""
}

func (p *Poster) publish(ctx context.Context, companyID int64, topic notify.Topic) {
	if p.cfg.Hub == nil {
		return
	}
	if err := p.cfg.Hub.Publish(ctx, topic, companyID); err != nil {
		// The worker and IDLE sessions also poll; a lost wake-up only delays.
		p.cfg.Log.WarnContext(ctx, "publish change", "topic", topic, "company", companyID, "err", err)
	}
}
