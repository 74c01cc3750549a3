package outbound

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// CampaignStore is what Campaign needs besides the lookups of a post.
type CampaignStore interface {
	Groups(ctx context.Context, companyID int64) ([]storage.Group, error)
	Audience(ctx context.Context, companyID int64, groupIDs []int64) ([]storage.Member, error)
	CreateCampaign(ctx context.Context, c storage.Campaign, emails []storage.OutboundEmail) (storage.Campaign, error)
}

// Campaign records a campaign and queues, in one transaction, one email
// for each member of its groups (every group when c.Groups is empty) with
// email notifications on and no hard bounce. Members of groups with
// messaging disabled receive it too (SPEC.md: only their replies are
// refused). It returns how many emails were queued.
func (p *Poster) Campaign(ctx context.Context, c storage.Campaign) (int, error) {
	cs := p.cfg.Store
	if strings.TrimSpace(c.Subject) == "" {
		return 0, fmt.Errorf("campaign: empty subject: %w", storage.ErrInvalid)
	}
	staff, err := p.cfg.Store.StaffByID(ctx, c.CompanyID, c.StaffID)
	if err != nil {
		return 0, fmt.Errorf("campaign author: %w", err)
	}
	co, err := p.cfg.Store.Company(ctx, c.CompanyID)
	if err != nil {
		return 0, fmt.Errorf("campaign company: %w", err)
	}
	groupIDs, names, err := resolveGroups(ctx, cs, c.CompanyID, c.Groups)
	if err != nil {
		return 0, err
	}
	members, err := cs.Audience(ctx, c.CompanyID, groupIDs)
	if err != nil {
		return 0, fmt.Errorf("campaign audience: %w", err)
	}
	now := p.cfg.Clock()
	domain, expires := msgIDDomain(co), now.Add(p.cfg.Lifetime)
	emails := make([]storage.OutboundEmail, len(members))
	for i, m := range members {
		emails[i] = storage.OutboundEmail{
			CompanyID: c.CompanyID, MemberID: m.ID, Rcpt: m.Email,
			MessageID: threading.NewMessageID(domain, now), ExpiresAt: expires,
		}
	}
	c.StaffID, c.Groups = staff.ID, names
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	saved, err := cs.CreateCampaign(ctx, c, emails)
	if err != nil {
		return 0, fmt.Errorf("campaign: %w", err)
	}
	p.cfg.Log.InfoContext(ctx, "campaign queued", "company", c.CompanyID, "campaign", saved.ID,
		"staff", staff.ID, "groups", names, "emails", len(emails))
	if len(emails) > 0 {
		p.publish(ctx, c.CompanyID, notify.Queue)
	}
	return len(emails), nil
}

// resolveGroups maps group names (case-insensitive) to ids and their
// stored names; none means every group (nil ids).
func resolveGroups(ctx context.Context, cs CampaignStore, companyID int64, names []string) ([]int64, []string, error) {
	if len(names) == 0 {
		return nil, nil, nil
	}
	gs, err := cs.Groups(ctx, companyID)
	if err != nil {
		return nil, nil, fmt.Errorf("campaign groups: %w", err)
	}
	var ids []int64
	var out []string
	for _, n := range names {
		i := -1
		for j, g := range gs {
			if strings.EqualFold(g.Name, strings.TrimSpace(n)) {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, nil, fmt.Errorf("campaign group %q: %w", n, storage.ErrNotFound)
		}
		if !slices.Contains(ids, gs[i].ID) {
			ids = append(ids, gs[i].ID)
			out = append(out, gs[i].Name)
		}
	}
	return ids, out, nil
}
