package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

const teamSelect = `SELECT t.id, t.company_id, t.name, t.slug, t.group_id, g.name,
	COALESCE(t.manager_id, 0), COALESCE(st.name, ''), COALESCE(st.email, ''), t.status
	FROM teams t JOIN partner_groups g ON g.id = t.group_id LEFT JOIN staff st ON st.id = t.manager_id `

func scanTeam(sc interface{ Scan(...any) error }) (storage.Team, error) {
	var t storage.Team
	err := sc.Scan(&t.ID, &t.CompanyID, &t.Name, &t.Slug, &t.GroupID, &t.GroupName,
		&t.ManagerID, &t.ManagerName, &t.ManagerEmail, &t.Status)
	return t, err
}

// Teams lists the company's teams matching f, by name.
func (s *Store) Teams(ctx context.Context, companyID int64, f storage.TeamFilter) ([]storage.Team, error) {
	q := teamSelect + `WHERE t.company_id = ?`
	args := []any{companyID}
	if f.GroupID != 0 {
		q += ` AND t.group_id = ?`
		args = append(args, f.GroupID)
	}
	if f.Status != "" {
		q += ` AND t.status = ?`
		args = append(args, f.Status)
	}
	if f.ManagerID != 0 {
		q += ` AND t.manager_id = ?`
		args = append(args, f.ManagerID)
	}
	rows, err := s.read().Query(ctx, q+` ORDER BY t.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	defer rows.Close()
	var ts []storage.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, fmt.Errorf("list teams: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// Team finds a team by id.
func (s *Store) Team(ctx context.Context, companyID, id int64) (storage.Team, error) {
	return teamWhere(ctx, s.read(), `t.company_id = ? AND t.id = ?`, companyID, id)
}

// TeamByName finds a team by its exact name.
func (s *Store) TeamByName(ctx context.Context, companyID int64, name string) (storage.Team, error) {
	return teamWhere(ctx, s.read(), `t.company_id = ? AND t.name = ?`, companyID, strings.TrimSpace(name))
}

// TeamBySlug finds a team by its slug (case-insensitive).
func (s *Store) TeamBySlug(ctx context.Context, companyID int64, slug string) (storage.Team, error) {
	return teamWhere(ctx, s.read(), `t.company_id = ? AND t.slug = ?`, companyID, strings.ToLower(strings.TrimSpace(slug)))
}

func teamWhere(ctx context.Context, db conn, where string, companyID int64, arg any) (storage.Team, error) {
	t, err := scanTeam(db.QueryRow(ctx, teamSelect+`WHERE `+where, companyID, arg))
	if err != nil {
		return t, notFound(err, fmt.Sprintf("team %v", arg))
	}
	return t, nil
}

// UpdateTeam changes a team's group, manager or status. The team's
// messages get a new modseq: the IMAP filter folders follow the team.
func (s *Store) UpdateTeam(ctx context.Context, companyID, teamID int64, u storage.TeamUpdate) (storage.Team, error) {
	if u.Status != nil && !validStatus(*u.Status) {
		return storage.Team{}, fmt.Errorf("update team: bad status %q: %w", *u.Status, storage.ErrInvalid)
	}
	var t storage.Team
	err := s.write(ctx, func(tx *Tx) error {
		if _, err := teamWhere(ctx, tx.conn, `t.company_id = ? AND t.id = ?`, companyID, teamID); err != nil {
			return err
		}
		if u.GroupID != nil {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM partner_groups WHERE company_id = ? AND id = ?`, companyID, *u.GroupID).Scan(&one)
			if err != nil {
				return notFound(err, fmt.Sprintf("group %d", *u.GroupID))
			}
			if _, err := tx.Exec(ctx, `UPDATE teams SET group_id = ? WHERE id = ?`, *u.GroupID, teamID); err != nil {
				return fmt.Errorf("set group: %w", err)
			}
		}
		if u.ManagerID != nil {
			if *u.ManagerID != 0 {
				var one int
				err := tx.QueryRow(ctx, `SELECT 1 FROM staff WHERE company_id = ? AND id = ?`, companyID, *u.ManagerID).Scan(&one)
				if err != nil {
					return notFound(err, fmt.Sprintf("staff %d", *u.ManagerID))
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE teams SET manager_id = ? WHERE id = ?`, nullID(*u.ManagerID), teamID); err != nil {
				return fmt.Errorf("set manager: %w", err)
			}
		}
		if u.Status != nil {
			if _, err := tx.Exec(ctx, `UPDATE teams SET status = ? WHERE id = ?`, *u.Status, teamID); err != nil {
				return fmt.Errorf("set status: %w", err)
			}
		}
		if err := bumpTeamMessages(ctx, tx, companyID, `team_id = ?`, teamID); err != nil {
			return err
		}
		var err error
		t, err = teamWhere(ctx, tx.conn, `t.company_id = ? AND t.id = ?`, companyID, teamID)
		return err
	})
	if err != nil {
		return storage.Team{}, fmt.Errorf("update team: %w", err)
	}
	return t, nil
}

// bumpTeamMessages gives a new modseq to the company's messages in the
// threads matching threadWhere (a condition on threads with one argument).
func bumpTeamMessages(ctx context.Context, tx *Tx, companyID int64, threadWhere string, arg any) error {
	v, err := nextModseq(ctx, tx, companyID)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE message_flags SET modseq = ? WHERE message_id IN (SELECT id FROM messages WHERE thread_id IN
		(SELECT id FROM threads WHERE company_id = ? AND `+threadWhere+`))`, v, companyID, arg)
	if err != nil {
		return fmt.Errorf("bump modseq of team messages: %w", err)
	}
	return nil
}

// uniqueSlug returns Slug(name), or it with -2, -3… when another team of
// the company has it.
func uniqueSlug(ctx context.Context, tx *Tx, companyID int64, name string) (string, error) {
	base := Slug(name)
	slug := base
	for i := 2; ; i++ {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM teams WHERE company_id = ? AND slug = ?`, companyID, slug).Scan(&one)
		if err != nil {
			if isNoRows(err) {
				return slug, nil
			}
			return "", fmt.Errorf("team slug: %w", err)
		}
		slug = fmt.Sprintf("%s-%d", base, i)
	}
}
