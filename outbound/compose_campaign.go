package outbound

import (
	"context"
	"fmt"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/templates"
	"github.com/partnermail/partnermail/threading"
)

// campaign composes one campaign email. Members of a group with messaging
// disabled get it too; its text tells them replies are not read and
// where to write instead (the inbound side refuses their replies).
func (c *TemplateComposer) campaign(ctx context.Context, row storage.OutboundEmail) (*Email, error) {
	st := c.cfg.Store
	camp, err := c.campaigns.get([2]int64{row.CompanyID, row.CampaignID}, func() (storage.Campaign, error) {
		return st.Campaign(ctx, row.CompanyID, row.CampaignID)
	})
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", row.CampaignID, err)
	}
	co, err := c.company(ctx, row.CompanyID)
	if err != nil {
		return nil, err
	}
	member, err := st.Member(ctx, row.CompanyID, row.MemberID)
	if err != nil {
		return nil, fmt.Errorf("member %d: %w", row.MemberID, err)
	}
	team, err := c.team(ctx, row.CompanyID, member.TeamID)
	if err != nil {
		return nil, err
	}
	group, err := c.group(ctx, row.CompanyID, team.GroupID)
	if err != nil {
		return nil, err
	}
	author := c.staffName(ctx, co, camp.StaffID)
	m, bounce, unsub, err := c.newMsg(head{
		row: row, company: co, member: member, fromName: author, subject: camp.Subject, date: camp.CreatedAt,
		replyTo: threading.Token{Kind: threading.KindCampaign, CompanyID: co.ID, CampaignID: camp.ID, MemberID: member.ID},
	})
	if err != nil {
		return nil, err
	}
	m.SetBulk() // Precedence: bulk, X-Auto-Response-Suppress: All
	text, html, err := c.tpl.Load().Render(co.Slug, templates.CampaignName, templates.Campaign{
		Company: headerText(co.Name), Author: headerText(author), Team: headerText(team.Name),
		Recipient: headerText(member.Name), Subject: headerText(camp.Subject), Text: normalizeText(camp.Body),
		RepliesRefused: !group.MessagesEnabled, Redirect: group.DisabledMessage,
		Unsubscribe: unsub,
	})
	if err != nil {
		return nil, err
	}
	setBody(m, text, html)
	return &Email{From: bounce, To: row.Rcpt, Msg: m}, nil
}
