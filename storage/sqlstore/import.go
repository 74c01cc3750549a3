package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// importTeam is a team as the rows of an import describe it.
type importTeam struct {
	line               int // first line naming the team
	group, manager     string
	status             string
	groupID, managerID int64
}

// ImportPartners creates or updates teams (by name) and members (by email)
// in one transaction. Every row is checked first: an unknown group or
// manager, a bad status or email, a member email twice in the input, or a
// team described differently on two lines gives a *storage.RowError and
// nothing is written. An empty status means pending; a row without a
// member email only creates or updates its team.
func (s *Store) ImportPartners(ctx context.Context, companyID int64, rows []storage.PartnerRow) (storage.ImportResult, error) {
	var res storage.ImportResult
	teams, order, err := checkRows(rows)
	if err != nil {
		return res, err
	}
	err = s.write(ctx, func(tx *Tx) error {
		res = storage.ImportResult{}
		if err := companyExists(ctx, tx.conn, companyID); err != nil {
			return err
		}
		groups, err := nameIDs(ctx, tx, `SELECT name, id FROM partner_groups WHERE company_id = ?`, companyID)
		if err != nil {
			return err
		}
		staff, err := nameIDs(ctx, tx, `SELECT email, id FROM staff WHERE company_id = ?`, companyID)
		if err != nil {
			return err
		}
		for _, name := range order {
			t := teams[name]
			var ok bool
			if t.groupID, ok = groups[t.group]; !ok {
				return &storage.RowError{Line: t.line, Err: fmt.Errorf("unknown group %q: %w", t.group, storage.ErrNotFound)}
			}
			if t.manager != "" {
				if t.managerID, ok = staff[t.manager]; !ok {
					return &storage.RowError{Line: t.line, Err: fmt.Errorf("unknown manager %q: %w", t.manager, storage.ErrNotFound)}
				}
			}
		}
		teamIDs := make(map[string]int64, len(order))
		for _, name := range order {
			id, created, changed, err := upsertTeam(ctx, tx, companyID, name, teams[name])
			if err != nil {
				return &storage.RowError{Line: teams[name].line, Err: err}
			}
			teamIDs[name] = id
			switch {
			case created:
				res.TeamsCreated++
			case changed:
				res.TeamsUpdated++
			}
		}
		members, err := loadMembers(ctx, tx, companyID)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if strings.TrimSpace(r.MemberEmail) == "" {
				continue
			}
			created, changed, err := upsertMember(ctx, tx, companyID, teamIDs[strings.TrimSpace(r.Team)], r, members)
			if err != nil {
				return &storage.RowError{Line: r.Line, Err: err}
			}
			switch {
			case created:
				res.MembersCreated++
			case changed:
				res.MembersUpdated++
			}
		}
		return nil
	})
	if err != nil {
		var re *storage.RowError
		if errors.As(err, &re) {
			return storage.ImportResult{}, re
		}
		return storage.ImportResult{}, fmt.Errorf("import partners: %w", err)
	}
	return res, nil
}

// checkRows validates what needs no database and gathers the teams in
// order of first appearance.
func checkRows(rows []storage.PartnerRow) (map[string]*importTeam, []string, error) {
	teams := map[string]*importTeam{}
	var order []string
	emails := map[string]int{}
	for i := range rows {
		r := &rows[i]
		if r.Line == 0 {
			r.Line = i + 2 // the header is line 1
		}
		fail := func(format string, a ...any) error {
			return &storage.RowError{Line: r.Line, Err: fmt.Errorf(format+": %w", append(a, storage.ErrInvalid)...)}
		}
		name := strings.TrimSpace(r.Team)
		if name == "" {
			return nil, nil, fail("empty team name")
		}
		status := strings.ToLower(strings.TrimSpace(r.Status))
		if status == "" {
			status = storage.StatusPending
		}
		if !validStatus(status) {
			return nil, nil, fail("unknown status %q (want approved, pending or declined)", r.Status)
		}
		manager := strings.ToLower(strings.TrimSpace(r.Manager))
		group := strings.TrimSpace(r.Group)
		if group == "" {
			return nil, nil, fail("empty group")
		}
		if e := strings.TrimSpace(r.MemberEmail); e != "" {
			e, err := normEmail(e)
			if err != nil {
				return nil, nil, &storage.RowError{Line: r.Line, Err: err}
			}
			if first, dup := emails[e]; dup {
				return nil, nil, fail("member %s is already on line %d", e, first)
			}
			emails[e] = r.Line
		}
		t, seen := teams[name]
		if !seen {
			teams[name] = &importTeam{line: r.Line, group: group, manager: manager, status: status}
			order = append(order, name)
			continue
		}
		if t.group != group || t.manager != manager || t.status != status {
			return nil, nil, fail("team %q has another group, manager or status on line %d", name, t.line)
		}
	}
	return teams, order, nil
}

// nameIDs loads a name → id map with a query taking the company id.
func nameIDs(ctx context.Context, tx *Tx, q string, companyID int64) (map[string]int64, error) {
	rows, err := tx.Query(ctx, q, companyID)
	if err != nil {
		return nil, fmt.Errorf("import partners: %w", err)
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return nil, fmt.Errorf("import partners: %w", err)
		}
		m[name] = id
	}
	return m, rows.Err()
}

// upsertTeam creates the team or updates its group, manager and status,
// bumping the modseq of its messages when they change.
func upsertTeam(ctx context.Context, tx *Tx, companyID int64, name string, t *importTeam) (id int64, created, changed bool, err error) {
	var groupID, managerID int64
	var status string
	err = tx.QueryRow(ctx, `SELECT id, group_id, COALESCE(manager_id, 0), status FROM teams WHERE company_id = ? AND name = ?`,
		companyID, name).Scan(&id, &groupID, &managerID, &status)
	if isNoRows(err) {
		slug, err := uniqueSlug(ctx, tx, companyID, name)
		if err != nil {
			return 0, false, false, err
		}
		err = tx.QueryRow(ctx, `INSERT INTO teams (company_id, name, slug, group_id, manager_id, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, companyID, name, slug, t.groupID, nullID(t.managerID), t.status, ms(now())).Scan(&id)
		if err != nil {
			return 0, false, false, fmt.Errorf("insert team: %w", err)
		}
		return id, true, false, nil
	} else if err != nil {
		return 0, false, false, fmt.Errorf("find team: %w", err)
	}
	if groupID == t.groupID && managerID == t.managerID && status == t.status {
		return id, false, false, nil
	}
	_, err = tx.Exec(ctx, `UPDATE teams SET group_id = ?, manager_id = ?, status = ? WHERE id = ?`,
		t.groupID, nullID(t.managerID), t.status, id)
	if err != nil {
		return 0, false, false, fmt.Errorf("update team: %w", err)
	}
	if err := bumpTeamMessages(ctx, tx, companyID, `team_id = ?`, id); err != nil {
		return 0, false, false, err
	}
	return id, false, true, nil
}

// importedMember is a member as stored before the import.
type importedMember struct {
	id, team int64
	name     string
	notify   bool
}

// loadMembers reads all members of the company, by email, in one query.
func loadMembers(ctx context.Context, tx *Tx, companyID int64) (map[string]importedMember, error) {
	rows, err := tx.Query(ctx, `SELECT email, id, team_id, name, email_notifications FROM members WHERE company_id = ?`, companyID)
	if err != nil {
		return nil, fmt.Errorf("import partners: %w", err)
	}
	defer rows.Close()
	m := map[string]importedMember{}
	for rows.Next() {
		var e string
		var im importedMember
		if err := rows.Scan(&e, &im.id, &im.team, &im.name, &im.notify); err != nil {
			return nil, fmt.Errorf("import partners: %w", err)
		}
		m[e] = im
	}
	return m, rows.Err()
}

// upsertMember creates the member or updates its team, name and
// notifications.
func upsertMember(ctx context.Context, tx *Tx, companyID, teamID int64, r storage.PartnerRow, members map[string]importedMember) (created, changed bool, err error) {
	email, _ := normEmail(r.MemberEmail) // checked by checkRows
	name := strings.TrimSpace(r.MemberName)
	old, ok := members[email]
	if !ok {
		_, err = tx.Exec(ctx, `INSERT INTO members (company_id, team_id, email, name, email_notifications, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, companyID, teamID, email, name, r.EmailNotifications, ms(now()))
		if err != nil {
			return false, false, fmt.Errorf("insert member: %w", err)
		}
		return true, false, nil
	}
	if old.team == teamID && old.name == name && old.notify == r.EmailNotifications {
		return false, false, nil
	}
	_, err = tx.Exec(ctx, `UPDATE members SET team_id = ?, name = ?, email_notifications = ? WHERE id = ?`,
		teamID, name, r.EmailNotifications, old.id)
	if err != nil {
		return false, false, fmt.Errorf("update member: %w", err)
	}
	return false, true, nil
}
