package smtpd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// subTarget is the audience one accepted recipient stands for: an existing
// thread, or a new conversation with a team or with one of its members.
type subTarget struct {
	rcpt     string // the first recipient address that named it
	threadID int64  // a reply in this thread
	teamID   int64  // else a new conversation with this team
	memberID int64  // … or with this member of teamID
	team     string // team name, for logs and replies
}

// key identifies the audience: recipients naming the same one get one
// message.
func (t subTarget) key() string {
	switch {
	case t.threadID != 0:
		return fmt.Sprintf("thread:%d", t.threadID)
	case t.memberID != 0:
		return fmt.Sprintf("member:%d", t.memberID)
	}
	return fmt.Sprintf("team:%d", t.teamID)
}

// subRefuse builds the reply of a refused recipient.
func subRefuse(code int, enh smtp.EnhancedCode, format string, args ...any) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: fmt.Sprintf(format, args...)}
}

var (
	subEnhNotPartner = smtp.EnhancedCode{5, 7, 1}
	subEnhBadMailbox = smtp.EnhancedCode{5, 1, 1}
)

// classify decides one recipient. It returns the audience, an
// *smtp.SMTPError to refuse it with, or another error (storage) that
// becomes a temporary failure.
//
// The gateway is never a relay: an address is accepted only when it is a
// gateway address of the staff member's own company (thread+TOKEN,
// reply+TOKEN, team+SLUG) or the address of one of its partner members.
func (ss *subSession) classify(rcpt string) (subTarget, error) {
	ctx := ss.s.ctx
	st := ss.s.cfg.Store
	co := ss.company
	addr := strings.TrimSpace(rcpt)
	local, domain, ok := threading.SplitAddress(addr)
	if !ok {
		return subTarget{}, subRefuse(501, smtp.EnhancedCode{5, 1, 3}, "Bad recipient address syntax")
	}
	if subOwnsDomain(co, domain) {
		return ss.gatewayTarget(addr, local, domain)
	}
	if other, err := st.CompanyByDomain(ctx, domain); err == nil && other.ID != co.ID {
		// Another program's gateway address: a token or team of another
		// company is worthless here.
		return subTarget{}, subNotPartner(addr)
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return subTarget{}, fmt.Errorf("company by domain %q: %w", domain, err)
	}
	m, err := st.MemberByEmail(ctx, co.ID, strings.ToLower(addr))
	if errors.Is(err, storage.ErrNotFound) {
		return subTarget{}, subNotPartner(addr)
	}
	if err != nil {
		return subTarget{}, fmt.Errorf("member by email: %w", err)
	}
	team, err := st.Team(ctx, co.ID, m.TeamID)
	if err != nil {
		return subTarget{}, fmt.Errorf("team %d: %w", m.TeamID, err)
	}
	if err := ss.checkMessaging(team); err != nil {
		return subTarget{}, err
	}
	return subTarget{rcpt: addr, teamID: team.ID, memberID: m.ID, team: team.Name}, nil
}

// gatewayTarget decides an address at one of the company's own domains.
func (ss *subSession) gatewayTarget(addr, local, domain string) (subTarget, error) {
	ctx := ss.s.ctx
	st := ss.s.cfg.Store
	co := ss.company
	kind, value := threading.ParseAddress(local, co.Partners)
	switch kind {
	case threading.KindThread, threading.KindReply:
		// thread+TOKEN is what staff see as Reply-To over IMAP; a
		// reply+TOKEN (a notification forwarded to staff) names the
		// same thread.
		tok, err := ss.s.cfg.Tokens.Verify(kind, co.ID, value)
		if err != nil {
			ss.s.cfg.Logger.Info("submission: bad token", "id", ss.id, "rcpt", addr, "err", err)
			return subTarget{}, subRefuse(550, subEnhBadMailbox, "<%s>: unknown or damaged conversation address; reply to the message again from your mail client", addr)
		}
		th, err := st.Thread(ctx, co.ID, tok.ThreadID)
		if errors.Is(err, storage.ErrNotFound) {
			return subTarget{}, subRefuse(550, subEnhBadMailbox, "<%s>: this conversation no longer exists", addr)
		}
		if err != nil {
			return subTarget{}, fmt.Errorf("thread %d: %w", tok.ThreadID, err)
		}
		team, err := st.Team(ctx, co.ID, th.TeamID)
		if err != nil {
			return subTarget{}, fmt.Errorf("team %d: %w", th.TeamID, err)
		}
		if err := ss.checkMessaging(team); err != nil {
			return subTarget{}, err
		}
		return subTarget{rcpt: addr, threadID: th.ID, team: team.Name}, nil
	case threading.KindTeam:
		team, err := st.TeamBySlug(ctx, co.ID, value)
		if errors.Is(err, storage.ErrNotFound) {
			return subTarget{}, subRefuse(550, subEnhBadMailbox, "<%s>: no partner team %q in %s", addr, value, co.Name)
		}
		if err != nil {
			return subTarget{}, fmt.Errorf("team by slug %q: %w", value, err)
		}
		if err := ss.checkMessaging(team); err != nil {
			return subTarget{}, err
		}
		return subTarget{rcpt: addr, teamID: team.ID, team: team.Name}, nil
	case threading.KindPartners:
		return subTarget{}, subRefuse(550, subEnhNotPartner,
			"<%s> is where partners write to us; to start a conversation write to team+SLUG@%s or to a partner member's own address", addr, domain)
	case threading.KindNone:
		return subTarget{}, subRefuse(550, subEnhBadMailbox,
			"<%s>: no such gateway address; write to thread+…, team+SLUG@%s or a partner member's own address", addr, domain)
	}
	// campaign+, bounce+, unsubscribe+: partner-side addresses.
	return subTarget{}, subRefuse(550, subEnhNotPartner,
		"<%s> is a partner-side %s address and cannot be written to from staff mail", addr, kind)
}

// checkMessaging refuses a team whose group has messaging switched off,
// with the group's redirect text.
func (ss *subSession) checkMessaging(team storage.Team) error {
	g, err := ss.s.cfg.Store.Group(ss.s.ctx, ss.company.ID, team.GroupID)
	if err != nil {
		return fmt.Errorf("group %d: %w", team.GroupID, err)
	}
	if g.MessagesEnabled {
		return nil
	}
	return subDisabled(team.Name, g.Name, g.DisabledMessage, ss.utf8)
}

// subNotPartner is the refusal of an address that is neither a gateway
// address nor a partner member of the company.
func subNotPartner(addr string) *smtp.SMTPError {
	return subRefuse(550, subEnhNotPartner, "<%s>: not a partner of this program; this server does not relay", addr)
}

// subDisabled refuses a message to a team in a group with messaging off;
// the redirect text is folded into a multi-line reply.
func subDisabled(team, group, text string, utf8 bool) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: subEnhNotPartner,
		Message: subReplyText(subDisabledText(team, group, text), subEnhNotPartner, utf8)}
}

// subDisabledText is the reason of subDisabled, unfolded.
func subDisabledText(team, group, text string) string {
	msg := fmt.Sprintf("Messaging is disabled for partner group %q (team %q)", group, team)
	if t := strings.TrimSpace(text); t != "" {
		msg += ": " + t
	}
	return msg
}

// subOwnsDomain reports whether domain is one of the company's inbound
// domains.
func subOwnsDomain(co storage.Company, domain string) bool {
	for _, d := range co.Domains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}
