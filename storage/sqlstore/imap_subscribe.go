package sqlstore

import (
	"context"
	"fmt"
)

// IMAPUnsubscribed lists the folder names a staff member unsubscribed.
func (s *Store) IMAPUnsubscribed(ctx context.Context, staffID int64) ([]string, error) {
	rows, err := s.imapRead().Query(ctx, `SELECT name FROM imap_unsubscribed WHERE staff_id = ? ORDER BY name`, staffID)
	if err != nil {
		return nil, fmt.Errorf("imap subscriptions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("imap subscriptions: %w", err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("imap subscriptions: %w", err)
	}
	return out, nil
}

// IMAPSubscribe subscribes a staff member to a folder name or, with
// subscribed false, unsubscribes them.
func (s *Store) IMAPSubscribe(ctx context.Context, staffID int64, name string, subscribed bool) error {
	return s.imapWrite(ctx, func(tx *Tx) error {
		q := `INSERT INTO imap_unsubscribed (staff_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING`
		if subscribed {
			q = `DELETE FROM imap_unsubscribed WHERE staff_id = ? AND name = ?`
		}
		if _, err := tx.Exec(ctx, q, staffID, name); err != nil {
			return fmt.Errorf("imap subscribe %q: %w", name, err)
		}
		return nil
	})
}
