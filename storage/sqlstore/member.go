package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

const memberCols = `id, company_id, team_id, email, name, email_notifications, bounce_state, bounce_detail`

func scanMember(sc interface{ Scan(...any) error }) (storage.Member, error) {
	var m storage.Member
	err := sc.Scan(&m.ID, &m.CompanyID, &m.TeamID, &m.Email, &m.Name, &m.EmailNotifications, &m.BounceState, &m.BounceDetail)
	return m, err
}

// Members lists a team's members by email; storage.ErrNotFound for a team
// the company does not have.
func (s *Store) Members(ctx context.Context, companyID, teamID int64) ([]storage.Member, error) {
	db := s.read()
	var one int
	if err := db.QueryRow(ctx, `SELECT 1 FROM teams WHERE company_id = ? AND id = ?`, companyID, teamID).Scan(&one); err != nil {
		return nil, notFound(err, fmt.Sprintf("team %d", teamID))
	}
	rows, err := db.Query(ctx, `SELECT `+memberCols+` FROM members WHERE company_id = ? AND team_id = ? ORDER BY email`, companyID, teamID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var ms []storage.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// Member finds a member by id.
func (s *Store) Member(ctx context.Context, companyID, id int64) (storage.Member, error) {
	m, err := scanMember(s.read().QueryRow(ctx, `SELECT `+memberCols+` FROM members WHERE company_id = ? AND id = ?`, companyID, id))
	if err != nil {
		return m, notFound(err, fmt.Sprintf("member %d", id))
	}
	return m, nil
}

// MemberByEmail finds a member by email (case-insensitive).
func (s *Store) MemberByEmail(ctx context.Context, companyID int64, email string) (storage.Member, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	m, err := scanMember(s.read().QueryRow(ctx, `SELECT `+memberCols+` FROM members WHERE company_id = ? AND email = ?`, companyID, e))
	if err != nil {
		return m, notFound(err, "member "+e)
	}
	return m, nil
}

// SetMemberNotifications turns a member's email notifications on or off.
func (s *Store) SetMemberNotifications(ctx context.Context, companyID, memberID int64, on bool) error {
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE members SET email_notifications = ? WHERE company_id = ? AND id = ?`, on, companyID, memberID)
		return affected(res, err, fmt.Sprintf("set notifications of member %d", memberID))
	})
}

// RecordBounce stores a bounce. A hard bounce turns the member's
// notifications off and marks it hard; a soft one marks a member soft
// unless it is already hard.
func (s *Store) RecordBounce(ctx context.Context, companyID int64, b storage.Bounce) (storage.Bounce, error) {
	b.CompanyID = companyID
	b.Email = strings.ToLower(strings.TrimSpace(b.Email))
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now()
	}
	err := s.write(ctx, func(tx *Tx) error {
		if err := companyExists(ctx, tx.conn, companyID); err != nil {
			return err
		}
		if b.MemberID != 0 {
			var email string
			err := tx.QueryRow(ctx, `SELECT email FROM members WHERE company_id = ? AND id = ?`, companyID, b.MemberID).Scan(&email)
			if err != nil {
				return notFound(err, fmt.Sprintf("member %d", b.MemberID))
			}
			if b.Email == "" {
				b.Email = email
			}
			if b.Hard {
				_, err = tx.Exec(ctx, `UPDATE members SET email_notifications = FALSE, bounce_state = ?, bounce_detail = ? WHERE id = ?`,
					storage.BounceHard, b.Detail, b.MemberID)
			} else {
				_, err = tx.Exec(ctx, `UPDATE members SET bounce_state = ?, bounce_detail = ? WHERE id = ? AND bounce_state <> ?`,
					storage.BounceSoft, b.Detail, b.MemberID, storage.BounceHard)
			}
			if err != nil {
				return fmt.Errorf("set bounce state: %w", err)
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO bounces (company_id, member_id, email, hard, detail, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, companyID, nullID(b.MemberID), b.Email, b.Hard, b.Detail, ms(b.CreatedAt)).Scan(&b.ID)
	})
	if err != nil {
		return storage.Bounce{}, fmt.Errorf("record bounce: %w", err)
	}
	return b, nil
}

// Bounces lists a company's bounces, newest first.
func (s *Store) Bounces(ctx context.Context, companyID int64) ([]storage.Bounce, error) {
	rows, err := s.read().Query(ctx, `SELECT id, company_id, COALESCE(member_id, 0), email, hard, detail, created_at
		FROM bounces WHERE company_id = ? ORDER BY id DESC`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list bounces: %w", err)
	}
	defer rows.Close()
	var bs []storage.Bounce
	for rows.Next() {
		var b storage.Bounce
		var at int64
		if err := rows.Scan(&b.ID, &b.CompanyID, &b.MemberID, &b.Email, &b.Hard, &b.Detail, &at); err != nil {
			return nil, fmt.Errorf("list bounces: %w", err)
		}
		b.CreatedAt = fromMS(at)
		bs = append(bs, b)
	}
	return bs, rows.Err()
}
