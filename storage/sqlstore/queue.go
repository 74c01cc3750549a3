package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnermail/partnermail/storage"
)

var _ storage.QueueStore = (*Store)(nil)

const outboundCols = `id, company_id, COALESCE(message_row_id, 0), COALESCE(campaign_id, 0), COALESCE(member_id, 0),
	rcpt, message_id, state, attempts, next_attempt_at, expires_at, last_error, created_at, updated_at`

func scanOutbound(sc interface{ Scan(...any) error }) (storage.OutboundEmail, error) {
	var e storage.OutboundEmail
	var next, expires, created, updated int64
	err := sc.Scan(&e.ID, &e.CompanyID, &e.MessageRowID, &e.CampaignID, &e.MemberID,
		&e.Rcpt, &e.MessageID, &e.State, &e.Attempts, &next, &expires, &e.LastError, &created, &updated)
	e.NextAttemptAt, e.ExpiresAt = fromMS(next), fromMS(expires)
	e.CreatedAt, e.UpdatedAt = fromMS(created), fromMS(updated)
	return e, err
}

// ClaimDue claims up to limit due queued emails, oldest due first: in one
// write it moves their next attempt to leaseUntil and counts the attempt,
// so an email whose sender dies mid-send is tried again once the lease
// ends. On PostgreSQL, FOR UPDATE SKIP LOCKED lets several processes claim
// at once without ever taking the same row; SQLite's single writer
// serialises claims.
func (s *Store) ClaimDue(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.OutboundEmail, error) {
	if limit <= 0 {
		return nil, nil
	}
	lock := ""
	if s.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `UPDATE outbound SET next_attempt_at = ?, attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM outbound WHERE state = ? AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?` + lock + `)
		RETURNING ` + outboundCols
	var out []storage.OutboundEmail
	err := s.write(ctx, func(tx *Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, q, ms(leaseUntil), ms(now), storage.QueueQueued, ms(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanOutbound(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim due emails: %w", err)
	}
	// RETURNING gives no order; hand them out in id order.
	slices.SortFunc(out, func(a, b storage.OutboundEmail) int { return int(a.ID - b.ID) })
	return out, nil
}

// FinishAttempt records the outcome of an attempt. Only a queued email
// changes, except that "sent" is always recorded: an administrator who
// dropped an email while it was in flight keeps the drop unless the relay
// had already taken it.
func (s *Store) FinishAttempt(ctx context.Context, id int64, state string, next time.Time, lastErr string) error {
	return s.FinishAttempts(ctx, []storage.OutboundEmail{{ID: id, State: state, NextAttemptAt: next, LastError: lastErr}})
}

// FinishAttempts records the outcomes of many attempts in one transaction
// (one commit for a batch of a busy worker), each as FinishAttempt does;
// of es only ID, State, NextAttemptAt and LastError are read.
func (s *Store) FinishAttempts(ctx context.Context, es []storage.OutboundEmail) error {
	for _, e := range es {
		switch e.State {
		case storage.QueueQueued, storage.QueueSent, storage.QueueFailed:
		default:
			return fmt.Errorf("finish attempt of email %d: state %q: %w", e.ID, e.State, storage.ErrInvalid)
		}
	}
	at := ms(now())
	var sent []any // ids of sent emails: one statement for all of them
	var rest []storage.OutboundEmail
	for _, e := range es {
		if e.State == storage.QueueSent && e.NextAttemptAt.IsZero() && e.LastError == "" {
			sent = append(sent, e.ID)
		} else {
			rest = append(rest, e)
		}
	}
	return s.write(ctx, func(tx *Tx) error {
		for ids := sent; len(ids) > 0; {
			n := min(len(ids), insertBatch)
			q := `UPDATE outbound SET state = ?, next_attempt_at = 0, last_error = '', updated_at = ? WHERE id IN (?` +
				strings.Repeat(", ?", n-1) + `)`
			res, err := tx.Exec(ctx, q, append([]any{storage.QueueSent, at}, ids[:n]...)...)
			if err != nil {
				return fmt.Errorf("finish attempts: %w", err)
			}
			if m, err := res.RowsAffected(); err == nil && m != int64(n) {
				return fmt.Errorf("finish attempts: %d of %d emails: %w", m, n, storage.ErrNotFound)
			}
			if err := touchDeliveries(ctx, tx, ids[:n]); err != nil {
				return err
			}
			ids = ids[n:]
		}
		for _, e := range rest {
			q := `UPDATE outbound SET state = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`
			args := []any{e.State, ms(e.NextAttemptAt), e.LastError, at, e.ID}
			if e.State != storage.QueueSent {
				q += ` AND state = ?`
				args = append(args, storage.QueueQueued)
			}
			res, err := tx.Exec(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("finish attempt of email %d: %w", e.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil || n > 0 {
				if err != nil {
					return err
				}
				if err := touchDelivery(ctx, tx, e.ID); err != nil { // the Sent keyword may change
					return err
				}
				continue
			}
			// Unchanged because it is no longer queued is not an error.
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM outbound WHERE id = ?`, e.ID).Scan(&one); err != nil {
				return notFound(err, fmt.Sprintf("finish attempt of email %d", e.ID))
			}
		}
		return nil
	})
}

// OutboundEmail finds an email by id, in any company.
func (s *Store) OutboundEmail(ctx context.Context, id int64) (storage.OutboundEmail, error) {
	e, err := scanOutbound(s.read().QueryRow(ctx, `SELECT `+outboundCols+` FROM outbound WHERE id = ?`, id))
	if err != nil {
		return storage.OutboundEmail{}, notFound(err, fmt.Sprintf("outbound email %d", id))
	}
	return e, nil
}

// Queue lists a company's emails in state (every state when empty) by id,
// at most limit of them (no bound when limit <= 0).
func (s *Store) Queue(ctx context.Context, companyID int64, state string, limit int) ([]storage.OutboundEmail, error) {
	q := `SELECT ` + outboundCols + ` FROM outbound WHERE company_id = ?`
	args := []any{companyID}
	if state != "" {
		q += ` AND state = ?`
		args = append(args, state)
	}
	q += ` ORDER BY id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.read().Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	defer rows.Close()
	var out []storage.OutboundEmail
	for rows.Next() {
		e, err := scanOutbound(rows)
		if err != nil {
			return nil, fmt.Errorf("list queue: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RetryEmail queues a failed, dropped or queued email again, due now, with
// its attempts counted from zero. The lifetime still counts from its
// creation (or ExpiresAt): an expired email gets one more attempt.
// Retrying a sent email is storage.ErrInvalid.
func (s *Store) RetryEmail(ctx context.Context, companyID, id int64) error {
	return s.setState(ctx, companyID, id, storage.QueueQueued, "retry")
}

// DropEmail removes a queued or failed email from the queue; the row stays,
// in state dropped. Dropping a sent email is storage.ErrInvalid.
func (s *Store) DropEmail(ctx context.Context, companyID, id int64) error {
	return s.setState(ctx, companyID, id, storage.QueueDropped, "drop")
}

func (s *Store) setState(ctx context.Context, companyID, id int64, state, what string) error {
	return s.write(ctx, func(tx *Tx) error {
		var cur string
		err := tx.QueryRow(ctx, `SELECT state FROM outbound WHERE company_id = ? AND id = ?`, companyID, id).Scan(&cur)
		if err != nil {
			return notFound(err, fmt.Sprintf("%s outbound email %d", what, id))
		}
		if cur == storage.QueueSent {
			return fmt.Errorf("%s outbound email %d: already sent: %w", what, id, storage.ErrInvalid)
		}
		t := ms(now())
		if state == storage.QueueQueued {
			_, err = tx.Exec(ctx, `UPDATE outbound SET state = ?, attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
				state, t, t, id)
		} else {
			_, err = tx.Exec(ctx, `UPDATE outbound SET state = ?, updated_at = ? WHERE id = ?`, state, t, id)
		}
		if err != nil {
			return fmt.Errorf("%s outbound email %d: %w", what, id, err)
		}
		return touchDelivery(ctx, tx, id) // the Sent keyword may change
	})
}

// touchDeliveries is touchDelivery for many emails: the staff messages
// they notify get a new modseq (campaign emails notify none).
func touchDeliveries(ctx context.Context, tx *Tx, ids []any) error {
	rows, err := tx.Query(ctx, `SELECT DISTINCT company_id, message_row_id FROM outbound
		WHERE message_row_id IS NOT NULL AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return fmt.Errorf("touch deliveries: %w", err)
	}
	type msg struct{ company, id int64 }
	var ms []msg
	for rows.Next() {
		var m msg
		if err := rows.Scan(&m.company, &m.id); err != nil {
			rows.Close()
			return fmt.Errorf("touch deliveries: %w", err)
		}
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("touch deliveries: %w", err)
	}
	for _, m := range ms {
		modseq, err := nextModseq(ctx, tx, m.company)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE message_flags SET modseq = ? WHERE message_id = ?`, modseq, m.id); err != nil {
			return fmt.Errorf("touch message %d: %w", m.id, err)
		}
	}
	return nil
}
