package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// Audience lists the members that receive email in the given groups (all
// groups when none), in one query whatever their number, so a campaign to
// 10,000 members costs one round trip. See storage.AdminStore.
func (s *Store) Audience(ctx context.Context, companyID int64, groupIDs []int64) ([]storage.Member, error) {
	q := `SELECT m.id, m.company_id, m.team_id, m.email, m.name, m.email_notifications, m.bounce_state, m.bounce_detail
		FROM members m JOIN teams t ON t.id = m.team_id AND t.company_id = m.company_id
		WHERE m.company_id = ? AND m.email_notifications = TRUE AND m.bounce_state <> ?`
	args := []any{companyID, storage.BounceHard}
	if len(groupIDs) > 0 {
		q += ` AND t.group_id IN (?` + strings.Repeat(", ?", len(groupIDs)-1) + `)`
		for _, id := range groupIDs {
			args = append(args, id)
		}
	}
	rows, err := s.read().Query(ctx, q+` ORDER BY m.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list audience: %w", err)
	}
	defer rows.Close()
	var ms []storage.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("list audience: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audience: %w", err)
	}
	return ms, nil
}
