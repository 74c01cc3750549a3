package sqlstore

import (
	"context"
	"fmt"
)

// MemberEmailIDs returns the Message-IDs of the notification emails queued
// for one member about the staff messages of a thread, keyed by staff
// message id: the ids the member's mail client knows, which the next
// notification puts in References (outbound compose). Used by
// outbound.TemplateComposer through an optional interface.
func (s *Store) MemberEmailIDs(ctx context.Context, companyID, threadID, memberID int64) (map[int64]string, error) {
	rows, err := s.read().Query(ctx, `SELECT o.message_row_id, o.message_id FROM outbound o
		JOIN messages m ON m.id = o.message_row_id
		WHERE m.company_id = ? AND m.thread_id = ? AND o.company_id = ? AND o.member_id = ?
		ORDER BY o.id`, companyID, threadID, companyID, memberID)
	if err != nil {
		return nil, fmt.Errorf("member email ids: %w", err)
	}
	defer rows.Close()
	ids := map[int64]string{}
	for rows.Next() {
		var msg int64
		var id string
		if err := rows.Scan(&msg, &id); err != nil {
			return nil, fmt.Errorf("member email ids: %w", err)
		}
		if id != "" {
			ids[msg] = id
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("member email ids: %w", err)
	}
	return ids, nil
}
