package smtpd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// recipient is an accepted RCPT: a gateway address of one company, with
// what was loaded to decide about it.
type recipient struct {
	addr    string
	company storage.Company
	kind    threading.Kind
	tok     threading.Token
	thread  storage.Thread // KindReply: the token's thread
	team    storage.Team   // the team the mail is about
	member  storage.Member // the token's member, or the envelope sender for the partner address
}

// Reply codes used at RCPT.
var (
	enhBadMailbox = smtp.EnhancedCode{5, 1, 1} // RFC 3463: bad destination mailbox address
	enhPolicy     = smtp.EnhancedCode{5, 7, 1} // delivery not authorized, message refused
	enhBadSyntax  = smtp.EnhancedCode{5, 1, 3}
)

// rcpt decides about one recipient (SPEC.md "Inbound SMTP": refuse at
// RCPT whatever can be refused then). It returns a *refusal for what the
// client may know, any other error for a temporary failure.
func (sess *session) rcpt(to string) (*recipient, error) {
	ctx := sess.s.ctx
	st := sess.s.cfg.Store
	tx := sess.tx
	local, domain, ok := threading.SplitAddress(to)
	if !ok {
		return nil, refuse("syntax", 501, enhBadSyntax, "bad recipient address")
	}
	addr := strings.ToLower(local) + "@" + domain
	for _, rc := range tx.rcpts {
		if rc.addr == addr {
			return nil, refuse("duplicate", 550, smtp.EnhancedCode{5, 5, 0}, "<%s> is already a recipient of this message", addr)
		}
	}
	company, err := st.CompanyByDomain(ctx, domain)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, refuse("relay", 550, enhPolicy, "relaying denied: %s is not a domain of this gateway", domain)
	} else if err != nil {
		return nil, fmt.Errorf("find company of %s: %w", domain, err)
	}
	if len(tx.rcpts) > 0 && tx.rcpts[0].company.ID != company.ID {
		// One message goes to one company; the sender retries the rest.
		return nil, refuse("company", 452, smtp.EnhancedCode{4, 5, 3}, "too many recipients: send to %s in a separate message", domain)
	}
	rc := &recipient{addr: addr, company: company}
	var value string
	rc.kind, value = threading.ParseAddress(local, company.Partners)
	switch rc.kind {
	case threading.KindNone:
		return nil, refuse("unknown", 550, enhBadMailbox, "<%s>: no such address", addr)
	case threading.KindThread, threading.KindTeam:
		return nil, refuse("staff_only", 550, enhPolicy, "<%s> accepts mail from staff through submission only", addr)
	case threading.KindPartners:
		return rc, sess.partnerSender(ctx, rc)
	}
	rc.tok, err = sess.s.cfg.Tokens.Verify(rc.kind, company.ID, value)
	if err != nil {
		return nil, &refusal{Code: 550, Enhanced: enhBadMailbox, Reason: "token", Cause: err,
			Text: fmt.Sprintf("<%s>: no such address (unknown or invalid token)", addr)}
	}
	switch rc.kind {
	case threading.KindReply:
		rc.thread, err = st.Thread(ctx, company.ID, rc.tok.ThreadID)
		if err != nil {
			return nil, sess.gone(err, addr, "conversation")
		}
		if rc.tok.MemberID != 0 {
			if rc.member, err = st.Member(ctx, company.ID, rc.tok.MemberID); err != nil {
				return nil, sess.gone(err, addr, "partner member")
			}
		}
		return rc, sess.teamOpen(ctx, rc, rc.thread.TeamID)
	case threading.KindCampaign:
		if rc.member, err = st.Member(ctx, company.ID, rc.tok.MemberID); err != nil {
			return nil, sess.gone(err, addr, "partner member")
		}
		return rc, sess.teamOpen(ctx, rc, rc.member.TeamID)
	}
	// bounce+ and unsubscribe+: the token alone is the authority; bounces
	// come from the null sender, unsubscribe mail from anyone's provider.
	return rc, nil
}

// gone maps a missing row behind a valid token to 550 5.1.1.
func (sess *session) gone(err error, addr, what string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return &refusal{Code: 550, Enhanced: enhBadMailbox, Reason: "token", Cause: err,
			Text: fmt.Sprintf("<%s>: the %s of this address no longer exists", addr, what)}
	}
	return fmt.Errorf("load %s of %s: %w", what, addr, err)
}

// teamOpen loads the team and refuses with the group's redirect text when
// its group has messaging disabled (the seed's core rule).
func (sess *session) teamOpen(ctx context.Context, rc *recipient, teamID int64) error {
	st := sess.s.cfg.Store
	team, err := st.Team(ctx, rc.company.ID, teamID)
	if err != nil {
		return sess.gone(err, rc.addr, "partner team")
	}
	rc.team = team
	g, err := st.Group(ctx, rc.company.ID, team.GroupID)
	if err != nil {
		return fmt.Errorf("load group %d: %w", team.GroupID, err)
	}
	if !g.MessagesEnabled {
		text := g.DisabledMessage
		if strings.TrimSpace(text) == "" {
			text = "Messaging is disabled for your partner group."
		}
		return &refusal{Code: 550, Enhanced: enhPolicy, Text: text, Reason: "disabled"}
	}
	return nil
}

// partnerSender checks the envelope sender of mail to the general partner
// address: only known members write there, and members of a group with
// messaging disabled get its redirect text.
func (sess *session) partnerSender(ctx context.Context, rc *recipient) error {
	from := sess.tx.from
	if from == "" {
		return refuse("sender", 550, enhPolicy, "<%s> does not accept mail from the null sender", rc.addr)
	}
	m, err := sess.s.cfg.Store.MemberByEmail(ctx, rc.company.ID, from)
	if errors.Is(err, storage.ErrNotFound) {
		return refuse("unknown_sender", 550, enhPolicy,
			"<%s> is not a registered partner address of %s; only partner members can write to <%s>", from, rc.company.Name, rc.addr)
	} else if err != nil {
		return fmt.Errorf("find member %s: %w", from, err)
	}
	rc.member = m
	return sess.teamOpen(ctx, rc, m.TeamID)
}
