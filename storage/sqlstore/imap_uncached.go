package sqlstore

import (
	"context"
	"fmt"

	"github.com/partnermail/partnermail/storage"
)

// IMAPUncached lists messages without a cached ENVELOPE, walking the
// primary key from afterID.
func (s *Store) IMAPUncached(ctx context.Context, afterID int64, limit int) ([]storage.IMAPUncachedMessage, error) {
	// A scalar subquery, not NOT EXISTS or a join: PostgreSQL turns
	// those into an anti-join that reads the whole cache table (36 ms
	// for 256 rows of 100,000); this walks the primary key from afterID
	// and probes the cache's (2 ms).
	rows, err := s.imapRead().Query(ctx, `SELECT m.id, m.company_id, m.raw_key FROM messages m
		WHERE m.id > ? AND m.raw_key <> ''
		AND NOT COALESCE((SELECT e.envelope <> '' FROM imap_envelopes e WHERE e.message_id = m.id), FALSE)
		ORDER BY m.id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("uncached messages: %w", err)
	}
	defer rows.Close()
	var out []storage.IMAPUncachedMessage
	for rows.Next() {
		var m storage.IMAPUncachedMessage
		if err := rows.Scan(&m.ID, &m.CompanyID, &m.RawKey); err != nil {
			return nil, fmt.Errorf("uncached messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("uncached messages: %w", err)
	}
	return out, nil
}

// IMAPLastMessageID returns the highest message id; see storage.IMAPStore.
func (s *Store) IMAPLastMessageID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.imapRead().QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM messages`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last message id: %w", err)
	}
	return id, nil
}
