package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

const groupCols = `id, company_id, name, messages_enabled, disabled_message`

func scanGroup(sc interface{ Scan(...any) error }) (storage.Group, error) {
	var g storage.Group
	err := sc.Scan(&g.ID, &g.CompanyID, &g.Name, &g.MessagesEnabled, &g.DisabledMessage)
	return g, err
}

// CreateGroup adds a group with messaging enabled.
func (s *Store) CreateGroup(ctx context.Context, companyID int64, name string) (storage.Group, error) {
	g := storage.Group{CompanyID: companyID, Name: strings.TrimSpace(name), MessagesEnabled: true}
	if g.Name == "" {
		return g, fmt.Errorf("create group: empty name: %w", storage.ErrInvalid)
	}
	err := s.write(ctx, func(tx *Tx) error {
		if err := companyExists(ctx, tx.conn, companyID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO partner_groups (company_id, name, messages_enabled, disabled_message, created_at)
			VALUES (?, ?, TRUE, '', ?) RETURNING id`, companyID, g.Name, ms(now())).Scan(&g.ID)
		if isUnique(err) {
			return fmt.Errorf("group %q: %w", g.Name, storage.ErrExists)
		}
		return err
	})
	if err != nil {
		return storage.Group{}, fmt.Errorf("create group: %w", err)
	}
	return g, nil
}

// Groups lists a company's groups by name.
func (s *Store) Groups(ctx context.Context, companyID int64) ([]storage.Group, error) {
	rows, err := s.read().Query(ctx, `SELECT `+groupCols+` FROM partner_groups WHERE company_id = ? ORDER BY name`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	var gs []storage.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		gs = append(gs, g)
	}
	return gs, rows.Err()
}

// GroupByName finds a group by its exact name.
func (s *Store) GroupByName(ctx context.Context, companyID int64, name string) (storage.Group, error) {
	g, err := scanGroup(s.read().QueryRow(ctx, `SELECT `+groupCols+` FROM partner_groups WHERE company_id = ? AND name = ?`,
		companyID, strings.TrimSpace(name)))
	if err != nil {
		return g, notFound(err, fmt.Sprintf("group %q", name))
	}
	return g, nil
}

// Group finds a group by id.
func (s *Store) Group(ctx context.Context, companyID, id int64) (storage.Group, error) {
	g, err := scanGroup(s.read().QueryRow(ctx, `SELECT `+groupCols+` FROM partner_groups WHERE company_id = ? AND id = ?`, companyID, id))
	if err != nil {
		return g, notFound(err, fmt.Sprintf("group %d", id))
	}
	return g, nil
}

// SetGroupMessaging switches messaging of a group on or off; text is kept
// either way.
func (s *Store) SetGroupMessaging(ctx context.Context, companyID, groupID int64, enabled bool, text string) error {
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE partner_groups SET messages_enabled = ?, disabled_message = ? WHERE company_id = ? AND id = ?`,
			enabled, text, companyID, groupID)
		return affected(res, err, fmt.Sprintf("set messaging of group %d", groupID))
	})
}
