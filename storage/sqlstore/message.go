package sqlstore

import (
	"context"
	"fmt"

	"github.com/partnermail/partnermail/storage"
)

// messageCols are read FROM messagesWithFlags.
const messageCols = `m.id, m.company_id, m.thread_id, m.direction, COALESCE(m.author_staff_id, 0), COALESCE(m.author_member_id, 0),
	m.message_id, m.in_reply_to, m.subject, m.from_addr, m.date, m.size, m.raw_key, m.text, m.auto_reply, f.seen, f.answered, f.flagged,
	m.auth_results, m.created_at`

// messagesWithFlags is messages (m) with their shared flags (f).
const messagesWithFlags = `messages m JOIN message_flags f ON f.message_id = m.id`

func scanMessage(sc interface{ Scan(...any) error }) (storage.Message, error) {
	var m storage.Message
	var date, created int64
	err := sc.Scan(&m.ID, &m.CompanyID, &m.ThreadID, &m.Direction, &m.AuthorStaffID, &m.AuthorMemberID,
		&m.MessageID, &m.InReplyTo, &m.Subject, &m.FromAddr, &date, &m.Size, &m.RawKey, &m.Text,
		&m.AutoReply, &m.Seen, &m.Answered, &m.Flagged, &m.AuthResults, &created)
	m.Date, m.CreatedAt = fromMS(date), fromMS(created)
	return m, err
}

// Message finds a message by id, with its attachments.
func (s *Store) Message(ctx context.Context, companyID, id int64) (storage.Message, error) {
	return messageByID(ctx, s.read(), companyID, id)
}

func messageByID(ctx context.Context, db conn, companyID, id int64) (storage.Message, error) {
	m, err := scanMessage(db.QueryRow(ctx, `SELECT `+messageCols+` FROM `+messagesWithFlags+` WHERE m.company_id = ? AND m.id = ?`, companyID, id))
	if err != nil {
		return m, notFound(err, fmt.Sprintf("message %d", id))
	}
	atts, err := attachments(ctx, db, `a.message_id = ?`, id)
	if err != nil {
		return m, err
	}
	m.Attachments = atts[id]
	return m, nil
}

// ThreadMessages lists a thread's messages in order of arrival.
func (s *Store) ThreadMessages(ctx context.Context, companyID, threadID int64) ([]storage.Message, error) {
	db := s.read()
	if _, err := threadByID(ctx, db, companyID, threadID); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+messageCols+` FROM `+messagesWithFlags+` WHERE m.company_id = ? AND m.thread_id = ? ORDER BY m.id`, companyID, threadID)
	if err != nil {
		return nil, fmt.Errorf("thread messages: %w", err)
	}
	defer rows.Close()
	var list []storage.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("thread messages: %w", err)
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("thread messages: %w", err)
	}
	rows.Close()
	atts, err := attachments(ctx, db, `m.thread_id = ?`, threadID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Attachments = atts[list[i].ID]
	}
	return list, nil
}

// attachments loads the attachments of the messages matching where (on
// attachments a and messages m, one argument), keyed by message id.
func attachments(ctx context.Context, db conn, where string, arg any) (map[int64][]storage.Attachment, error) {
	rows, err := db.Query(ctx, `SELECT a.message_id, a.id, a.filename, a.content_type, a.size, a.blob_key
		FROM attachments a JOIN messages m ON m.id = a.message_id WHERE `+where+` ORDER BY a.message_id, a.position`, arg)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	defer rows.Close()
	out := map[int64][]storage.Attachment{}
	for rows.Next() {
		var mid int64
		var a storage.Attachment
		if err := rows.Scan(&mid, &a.ID, &a.Filename, &a.ContentType, &a.Size, &a.BlobKey); err != nil {
			return nil, fmt.Errorf("attachments: %w", err)
		}
		out[mid] = append(out[mid], a)
	}
	return out, rows.Err()
}
