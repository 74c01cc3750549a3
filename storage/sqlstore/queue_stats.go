package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// QueueStats counts the queued emails of every company and returns the
// creation time of the oldest (zero when none), for the queue metrics.
func (s *Store) QueueStats(ctx context.Context) (depth int64, oldest time.Time, err error) {
	var first int64
	err = s.read().QueryRow(ctx, `SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM outbound WHERE state = ?`,
		storage.QueueQueued).Scan(&depth, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("queue stats: %w", err)
	}
	return depth, fromMS(first), nil
}
