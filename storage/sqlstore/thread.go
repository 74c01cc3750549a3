package sqlstore

import (
	"context"
	"fmt"

	"github.com/partnermail/partnermail/storage"
)

const threadCols = `id, company_id, team_id, COALESCE(member_id, 0), COALESCE(campaign_id, 0), subject, created_at, updated_at`

func scanThread(sc interface{ Scan(...any) error }) (storage.Thread, error) {
	var t storage.Thread
	var created, updated int64
	err := sc.Scan(&t.ID, &t.CompanyID, &t.TeamID, &t.MemberID, &t.CampaignID, &t.Subject, &created, &updated)
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return t, err
}

// Thread finds a thread by id.
func (s *Store) Thread(ctx context.Context, companyID, id int64) (storage.Thread, error) {
	return threadByID(ctx, s.read(), companyID, id)
}

func threadByID(ctx context.Context, db conn, companyID, id int64) (storage.Thread, error) {
	t, err := scanThread(db.QueryRow(ctx, `SELECT `+threadCols+` FROM threads WHERE company_id = ? AND id = ?`, companyID, id))
	if err != nil {
		return t, notFound(err, fmt.Sprintf("thread %d", id))
	}
	return t, nil
}

// Threads lists a company's threads, most recently active first.
func (s *Store) Threads(ctx context.Context, companyID int64) ([]storage.Thread, error) {
	rows, err := s.read().Query(ctx, `SELECT `+threadCols+` FROM threads WHERE company_id = ? ORDER BY updated_at DESC, id DESC`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	defer rows.Close()
	var ts []storage.Thread
	for rows.Next() {
		t, err := scanThread(rows)
		if err != nil {
			return nil, fmt.Errorf("list threads: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// ThreadByMessageID returns the thread of the first of ids the company
// received or sent; the newest thread when one Message-ID is in several.
func (s *Store) ThreadByMessageID(ctx context.Context, companyID int64, ids []string) (storage.Thread, error) {
	db := s.read()
	for _, id := range ids {
		id = trimMsgID(id)
		if id == "" {
			continue
		}
		t, err := scanThread(db.QueryRow(ctx, `SELECT `+threadCols+` FROM threads WHERE id =
			(SELECT MAX(thread_id) FROM msgids WHERE company_id = ? AND message_id = ?)`, companyID, id))
		if err == nil {
			return t, nil
		}
		if !isNoRows(err) {
			return t, fmt.Errorf("thread by Message-ID: %w", err)
		}
	}
	return storage.Thread{}, fmt.Errorf("thread by Message-ID: %w", storage.ErrNotFound)
}

// trimMsgID removes spaces and angle brackets around a Message-ID.
func trimMsgID(id string) string {
	for len(id) > 0 && (id[0] == ' ' || id[0] == '<' || id[0] == '\t') {
		id = id[1:]
	}
	for len(id) > 0 && (id[len(id)-1] == ' ' || id[len(id)-1] == '>' || id[len(id)-1] == '\t') {
		id = id[:len(id)-1]
	}
	return id
}
