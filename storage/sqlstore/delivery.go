package sqlstore

import (
	"context"
	"fmt"

	"github.com/partnermail/partnermail/storage"
)

// deliveryRankSQL is storage.DeliveryRank in SQL, for an outbound row o.
const deliveryRankSQL = `CASE o.state WHEN 'failed' THEN 4 WHEN 'sent' THEN 3
	WHEN 'queued' THEN CASE WHEN o.last_error <> '' THEN 2 ELSE 1 END ELSE 0 END`

// DeliveryStates returns the delivery keyword (storage.KeywordQueued …
// KeywordBounced) of each of the given staff messages that has
// notification emails: the most advanced state of its emails. Messages
// without emails (or with only dropped ones) are absent.
func (s *Store) DeliveryStates(ctx context.Context, companyID int64, messageIDs []int64) (map[int64]string, error) {
	return deliveryStates(ctx, s.read(), companyID, messageIDs)
}

func deliveryStates(ctx context.Context, db conn, companyID int64, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string)
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := []any{companyID}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		rows, err := db.Query(ctx, `SELECT o.message_row_id, MAX(`+deliveryRankSQL+`) FROM outbound o
			WHERE o.company_id = ? AND o.message_row_id IN (`+placeholders(n)+`) GROUP BY o.message_row_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("delivery states: %w", err)
		}
		for rows.Next() {
			var id, rank int64
			if err := rows.Scan(&id, &rank); err != nil {
				rows.Close()
				return nil, fmt.Errorf("delivery states: %w", err)
			}
			if k := storage.DeliveryKeyword(int(rank)); k != "" {
				out[id] = k
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("delivery states: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// touchDelivery gives the staff message notified by outbound email
// emailID a new modseq, so IMAP sessions see its delivery keyword change.
// Call it in the transaction that changes the email's state; campaign
// emails (no message) are skipped.
func touchDelivery(ctx context.Context, tx *Tx, emailID int64) error {
	var companyID, msgID int64
	err := tx.QueryRow(ctx, `SELECT company_id, COALESCE(message_row_id, 0) FROM outbound WHERE id = ?`, emailID).Scan(&companyID, &msgID)
	if err != nil {
		return notFound(err, fmt.Sprintf("outbound email %d", emailID))
	}
	if msgID == 0 {
		return nil
	}
	modseq, err := nextModseq(ctx, tx, companyID)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE message_flags SET modseq = ? WHERE message_id = ?`, modseq, msgID); err != nil {
		return fmt.Errorf("touch message %d: %w", msgID, err)
	}
	return nil
}

// BounceEmail records that an email the relay accepted (or one still
// queued) bounced later, reported by a delivery status notification to its
// bounce address: the email becomes failed with detail as its error, and
// the staff message it notified shows $Bounced in Sent. A dropped or
// already failed email is left as it is.
func (s *Store) BounceEmail(ctx context.Context, companyID, emailID int64, detail string) error {
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE outbound SET state = ?, last_error = ?, updated_at = ?
			WHERE company_id = ? AND id = ? AND state IN (?, ?)`,
			storage.QueueFailed, detail, ms(now()), companyID, emailID, storage.QueueSent, storage.QueueQueued)
		if err != nil {
			return fmt.Errorf("bounce outbound email %d: %w", emailID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // unknown, another company's, dropped or failed: nothing to do
		}
		return touchDelivery(ctx, tx, emailID)
	})
}
