package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

const staffCols = `id, company_id, email, name, admin, password_hash`

func scanStaff(sc interface{ Scan(...any) error }) (storage.Staff, error) {
	var st storage.Staff
	err := sc.Scan(&st.ID, &st.CompanyID, &st.Email, &st.Name, &st.Admin, &st.PasswordHash)
	return st, err
}

// CreateStaff adds a staff member; the email is the login, unique across
// all companies (storage.ErrExists).
func (s *Store) CreateStaff(ctx context.Context, companyID int64, st storage.Staff) (storage.Staff, error) {
	email, err := normEmail(st.Email)
	if err != nil {
		return storage.Staff{}, fmt.Errorf("create staff: %w", err)
	}
	st.Email, st.CompanyID = email, companyID
	st.Name = strings.TrimSpace(st.Name)
	err = s.write(ctx, func(tx *Tx) error {
		if err := companyExists(ctx, tx.conn, companyID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO staff (company_id, email, name, admin, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, companyID, st.Email, st.Name, st.Admin, st.PasswordHash, ms(now())).Scan(&st.ID)
		if isUnique(err) {
			return fmt.Errorf("staff %s: %w", st.Email, storage.ErrExists)
		}
		return err
	})
	if err != nil {
		return storage.Staff{}, fmt.Errorf("create staff: %w", err)
	}
	return st, nil
}

// StaffList lists a company's staff by email.
func (s *Store) StaffList(ctx context.Context, companyID int64) ([]storage.Staff, error) {
	rows, err := s.read().Query(ctx, `SELECT `+staffCols+` FROM staff WHERE company_id = ? ORDER BY email`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var list []storage.Staff
	for rows.Next() {
		st, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		list = append(list, st)
	}
	return list, rows.Err()
}

// StaffByID finds a staff member of the company.
func (s *Store) StaffByID(ctx context.Context, companyID, id int64) (storage.Staff, error) {
	st, err := scanStaff(s.read().QueryRow(ctx, `SELECT `+staffCols+` FROM staff WHERE company_id = ? AND id = ?`, companyID, id))
	if err != nil {
		return st, notFound(err, fmt.Sprintf("staff %d", id))
	}
	return st, nil
}

// StaffByEmail finds a staff member by login in any company.
func (s *Store) StaffByEmail(ctx context.Context, email string) (storage.Staff, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	st, err := scanStaff(s.read().QueryRow(ctx, `SELECT `+staffCols+` FROM staff WHERE email = ?`, e))
	if err != nil {
		return st, notFound(err, "staff "+e)
	}
	return st, nil
}

// SetStaffPassword replaces a staff member's password hash.
func (s *Store) SetStaffPassword(ctx context.Context, companyID int64, email, hash string) error {
	e := strings.ToLower(strings.TrimSpace(email))
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE staff SET password_hash = ? WHERE company_id = ? AND email = ?`, hash, companyID, e)
		return affected(res, err, "set password of staff "+e)
	})
}

// RemoveStaff deletes a staff member; teams they managed lose their
// manager, messages they wrote stay.
func (s *Store) RemoveStaff(ctx context.Context, companyID int64, email string) error {
	e := strings.ToLower(strings.TrimSpace(email))
	return s.write(ctx, func(tx *Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM staff WHERE company_id = ? AND email = ?`, companyID, e).Scan(&id)
		if err != nil {
			return notFound(err, "remove staff "+e)
		}
		// Filter folders follow the manager: the team's messages change.
		if err := bumpTeamMessages(ctx, tx, companyID, `team_id IN (SELECT id FROM teams WHERE manager_id = ?)`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff WHERE id = ?`, id); err != nil {
			return fmt.Errorf("remove staff: %w", err)
		}
		return nil
	})
}
