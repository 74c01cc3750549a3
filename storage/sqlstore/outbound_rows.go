package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// InsertOutbound queues one outbound email in tx and sets its ID (and
// defaults: state queued, due at, created and updated at). Deliver uses it;
// the queue code (queue*.go) may too.
func InsertOutbound(ctx context.Context, tx *Tx, e *storage.OutboundEmail, at time.Time) error {
	if e.State == "" {
		e.State = storage.QueueQueued
	}
	if e.NextAttemptAt.IsZero() {
		e.NextAttemptAt = at
	}
	e.CreatedAt, e.UpdatedAt = at, at
	err := tx.QueryRow(ctx, `INSERT INTO outbound (company_id, message_row_id, campaign_id, member_id, rcpt, message_id,
		state, attempts, next_attempt_at, expires_at, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.CompanyID, nullID(e.MessageRowID), nullID(e.CampaignID), nullID(e.MemberID), e.Rcpt, trimMsgID(e.MessageID),
		e.State, e.Attempts, ms(e.NextAttemptAt), ms(e.ExpiresAt), e.LastError, ms(at), ms(at)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("queue outbound email to %s: %w", e.Rcpt, err)
	}
	return nil
}
