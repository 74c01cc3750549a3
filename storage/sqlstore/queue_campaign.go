package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// insertBatch is how many outbound rows one INSERT carries (13 parameters
// each, well under the limits of both databases).
const insertBatch = 500

// CreateCampaign stores a campaign with its group names and queues its
// emails, all in one transaction. Each email gets the campaign's company
// and id, state queued and, unless set, due at creation.
func (s *Store) CreateCampaign(ctx context.Context, c storage.Campaign, emails []storage.OutboundEmail) (storage.Campaign, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	err := s.write(ctx, func(tx *Tx) error {
		if err := companyExists(ctx, tx.conn, c.CompanyID); err != nil {
			return err
		}
		if c.StaffID != 0 {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM staff WHERE company_id = ? AND id = ?`, c.CompanyID, c.StaffID).Scan(&one)
			if err != nil {
				return notFound(err, fmt.Sprintf("staff %d", c.StaffID))
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO campaigns (company_id, staff_id, subject, body, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, c.CompanyID, nullID(c.StaffID), c.Subject, c.Body, ms(c.CreatedAt)).Scan(&c.ID)
		if err != nil {
			return fmt.Errorf("insert campaign: %w", err)
		}
		for i, g := range c.Groups {
			if _, err := tx.Exec(ctx, `INSERT INTO campaign_groups (campaign_id, position, group_name) VALUES (?, ?, ?)`, c.ID, i, g); err != nil {
				return fmt.Errorf("insert campaign group: %w", err)
			}
		}
		for i := range emails {
			emails[i].CompanyID, emails[i].CampaignID = c.CompanyID, c.ID
		}
		for len(emails) > 0 {
			n := min(len(emails), insertBatch)
			if err := insertOutboundBatch(ctx, tx, emails[:n], c.CreatedAt.UnixMilli()); err != nil {
				return err
			}
			emails = emails[n:]
		}
		return nil
	})
	if err != nil {
		return storage.Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	return c, nil
}

// insertOutboundBatch queues emails with one multi-row INSERT and sets
// their ids. Both databases number the rows of one INSERT in VALUES order,
// so the returned ids, sorted, match the emails in order.
func insertOutboundBatch(ctx context.Context, tx *Tx, emails []storage.OutboundEmail, at int64) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO outbound (company_id, message_row_id, campaign_id, member_id, rcpt, message_id,
		state, attempts, next_attempt_at, expires_at, last_error, created_at, updated_at) VALUES `)
	args := make([]any, 0, 13*len(emails))
	for i := range emails {
		e := &emails[i]
		if e.State == "" {
			e.State = storage.QueueQueued
		}
		if e.NextAttemptAt.IsZero() {
			e.NextAttemptAt = fromMS(at)
		}
		e.CreatedAt, e.UpdatedAt = fromMS(at), fromMS(at)
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.CompanyID, nullID(e.MessageRowID), nullID(e.CampaignID), nullID(e.MemberID), e.Rcpt,
			trimMsgID(e.MessageID), e.State, e.Attempts, ms(e.NextAttemptAt), ms(e.ExpiresAt), e.LastError, at, at)
	}
	b.WriteString(" RETURNING id")
	rows, err := tx.Query(ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("queue campaign emails: %w", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, len(emails))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("queue campaign emails: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("queue campaign emails: %w", err)
	}
	if len(ids) != len(emails) {
		return fmt.Errorf("queue campaign emails: %d ids for %d rows", len(ids), len(emails))
	}
	slices.Sort(ids)
	for i := range emails {
		emails[i].ID = ids[i]
	}
	return nil
}

// Campaign finds a campaign with its group names.
func (s *Store) Campaign(ctx context.Context, companyID, id int64) (storage.Campaign, error) {
	db := s.read()
	c := storage.Campaign{}
	var created int64
	err := db.QueryRow(ctx, `SELECT id, company_id, COALESCE(staff_id, 0), subject, body, created_at
		FROM campaigns WHERE company_id = ? AND id = ?`, companyID, id).
		Scan(&c.ID, &c.CompanyID, &c.StaffID, &c.Subject, &c.Body, &created)
	if err != nil {
		return storage.Campaign{}, notFound(err, fmt.Sprintf("campaign %d", id))
	}
	c.CreatedAt = fromMS(created)
	rows, err := db.Query(ctx, `SELECT group_name FROM campaign_groups WHERE campaign_id = ? ORDER BY position`, id)
	if err != nil {
		return storage.Campaign{}, fmt.Errorf("campaign %d groups: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return storage.Campaign{}, fmt.Errorf("campaign %d groups: %w", id, err)
		}
		c.Groups = append(c.Groups, g)
	}
	return c, rows.Err()
}
