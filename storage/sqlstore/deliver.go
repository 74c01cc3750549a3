package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// Deliver stores one message (and its new thread, Message-ID links and
// outbound emails) in one transaction. See storage.MessageStore.
//
// A message for a new thread whose Message-ID is already stored in a
// thread with the same team, member and campaign, from the same author, is a retransmission (a
// sender that did not see our 250): Deliver returns the stored message and
// created=false instead of starting a second thread.
func (s *Store) Deliver(ctx context.Context, d storage.Delivery) (storage.Message, bool, error) {
	m := d.Message
	if m.Direction != storage.DirectionIn && m.Direction != storage.DirectionOut {
		return storage.Message{}, false, fmt.Errorf("deliver: direction %q: %w", m.Direction, storage.ErrInvalid)
	}
	if m.CompanyID == 0 {
		m.CompanyID = d.NewThread.CompanyID
	}
	m.MessageID = trimMsgID(m.MessageID)
	if m.Direction == storage.DirectionOut {
		m.Seen = true // staff-written messages are born read
	}
	at := now()
	if m.Date.IsZero() {
		m.Date = at
	}
	m.CreatedAt = at
	var created bool
	var out storage.Message
	err := s.write(ctx, func(tx *Tx) error {
		created = false
		mm := m
		threadID := d.ThreadID
		if threadID == 0 {
			if dup, ok, err := retransmitted(ctx, tx, mm, d.NewThread); err != nil || ok {
				out = dup
				return err
			}
			id, err := newThread(ctx, tx, mm.CompanyID, d.NewThread, at)
			if err != nil {
				return err
			}
			threadID = id
		} else if _, err := threadByID(ctx, tx.conn, mm.CompanyID, threadID); err != nil {
			return err
		}
		mm.ThreadID = threadID
		if err := checkAuthor(ctx, tx, mm); err != nil {
			return err
		}
		modseq, err := nextModseq(ctx, tx, mm.CompanyID)
		if err != nil {
			return err
		}
		id, err := insertMessage(ctx, tx, &mm, modseq)
		if err != nil {
			return err
		}
		if id == 0 { // the same Message-ID is already in the thread
			out, err = existing(ctx, tx, mm)
			return err
		}
		mm.ID, created = id, true
		if err := insertAttachments(ctx, tx, &mm); err != nil {
			return err
		}
		if err := linkMessageIDs(ctx, tx, mm.CompanyID, threadID, append([]string{mm.MessageID}, d.MessageIDs...)); err != nil {
			return err
		}
		for i := range d.Outbound {
			e := &d.Outbound[i]
			e.CompanyID, e.MessageRowID = mm.CompanyID, mm.ID
			if err := InsertOutbound(ctx, tx, e, at); err != nil {
				return err
			}
		}
		if mm.Direction == storage.DirectionOut {
			_, err := tx.Exec(ctx, `UPDATE message_flags SET answered = TRUE, modseq = ?
				WHERE answered = FALSE AND message_id IN (SELECT id FROM messages WHERE thread_id = ? AND direction = ? AND id < ?)`,
				modseq, threadID, storage.DirectionIn, mm.ID)
			if err != nil {
				return fmt.Errorf("mark answered: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE threads SET updated_at = ? WHERE id = ?`, ms(at), threadID); err != nil {
			return fmt.Errorf("touch thread: %w", err)
		}
		out = mm
		return nil
	})
	if err != nil {
		return storage.Message{}, false, fmt.Errorf("deliver: %w", err)
	}
	return out, created, nil
}

// newThread creates the thread of a delivery, or finds the campaign
// thread of the same member.
func newThread(ctx context.Context, tx *Tx, companyID int64, t storage.Thread, at time.Time) (int64, error) {
	if t.CompanyID != 0 && t.CompanyID != companyID {
		return 0, fmt.Errorf("new thread of company %d for company %d: %w", t.CompanyID, companyID, storage.ErrInvalid)
	}
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1 FROM teams WHERE company_id = ? AND id = ?`, companyID, t.TeamID).Scan(&one); err != nil {
		return 0, notFound(err, fmt.Sprintf("team %d", t.TeamID))
	}
	if t.MemberID != 0 {
		err := tx.QueryRow(ctx, `SELECT 1 FROM members WHERE company_id = ? AND id = ? AND team_id = ?`, companyID, t.MemberID, t.TeamID).Scan(&one)
		if err != nil {
			return 0, notFound(err, fmt.Sprintf("member %d of team %d", t.MemberID, t.TeamID))
		}
	}
	if t.CampaignID != 0 {
		if err := tx.QueryRow(ctx, `SELECT 1 FROM campaigns WHERE company_id = ? AND id = ?`, companyID, t.CampaignID).Scan(&one); err != nil {
			return 0, notFound(err, fmt.Sprintf("campaign %d", t.CampaignID))
		}
	}
	if t.CampaignID != 0 && t.MemberID != 0 {
		// Find or create; the unique index settles concurrent creators.
		_, err := tx.Exec(ctx, `INSERT INTO threads (company_id, team_id, member_id, campaign_id, subject, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, member_id) WHERE campaign_id IS NOT NULL DO NOTHING`,
			companyID, t.TeamID, t.MemberID, t.CampaignID, t.Subject, at.UnixMilli(), at.UnixMilli())
		if err != nil {
			return 0, fmt.Errorf("insert campaign thread: %w", err)
		}
		var id int64
		err = tx.QueryRow(ctx, `SELECT id FROM threads WHERE company_id = ? AND campaign_id = ? AND member_id = ?`,
			companyID, t.CampaignID, t.MemberID).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("find campaign thread: %w", err)
		}
		return id, nil
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO threads (company_id, team_id, member_id, campaign_id, subject, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		companyID, t.TeamID, nullID(t.MemberID), nullID(t.CampaignID), t.Subject, at.UnixMilli(), at.UnixMilli()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert thread: %w", err)
	}
	return id, nil
}

// checkAuthor makes sure the author belongs to the message's company.
func checkAuthor(ctx context.Context, tx *Tx, m storage.Message) error {
	var one int
	if m.AuthorStaffID != 0 {
		if err := tx.QueryRow(ctx, `SELECT 1 FROM staff WHERE company_id = ? AND id = ?`, m.CompanyID, m.AuthorStaffID).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("author staff %d", m.AuthorStaffID))
		}
	}
	if m.AuthorMemberID != 0 {
		if err := tx.QueryRow(ctx, `SELECT 1 FROM members WHERE company_id = ? AND id = ?`, m.CompanyID, m.AuthorMemberID).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("author member %d", m.AuthorMemberID))
		}
	}
	return nil
}

// insertMessage inserts m and its flags and returns its id, or 0 when its
// Message-ID is already in the thread.
func insertMessage(ctx context.Context, tx *Tx, m *storage.Message, modseq int64) (int64, error) {
	const insert = `INSERT INTO messages (company_id, thread_id, direction, author_staff_id, author_member_id,
		message_id, in_reply_to, subject, from_addr, date, size, raw_key, text, auto_reply,
		auth_results, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (thread_id, message_id) WHERE message_id <> '' DO NOTHING RETURNING id`
	args := []any{m.CompanyID, m.ThreadID, m.Direction, nullID(m.AuthorStaffID), nullID(m.AuthorMemberID),
		m.MessageID, m.InReplyTo, m.Subject, m.FromAddr, ms(m.Date), m.Size, m.RawKey, m.Text,
		m.AutoReply, m.AuthResults, ms(m.CreatedAt)}
	if tx.pg {
		// One round trip for both rows: a delivery holds the company's
		// modseq row locked until it commits, so every round trip in
		// between delays the company's next delivery.
		var id int64
		err := tx.QueryRow(ctx, `WITH m AS (`+insert+`)
			INSERT INTO message_flags (message_id, company_id, seen, answered, flagged, modseq)
			SELECT id, ?::bigint, ?::boolean, ?::boolean, ?::boolean, ?::bigint FROM m RETURNING message_id`,
			append(args, m.CompanyID, m.Seen, m.Answered, m.Flagged, modseq)...).Scan(&id)
		if isNoRows(err) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("insert message: %w", err)
		}
		return id, nil
	}
	var id int64
	err := tx.QueryRow(ctx, insert, args...).Scan(&id)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("insert message: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO message_flags (message_id, company_id, seen, answered, flagged, modseq)
		VALUES (?, ?, ?, ?, ?, ?)`, id, m.CompanyID, m.Seen, m.Answered, m.Flagged, modseq)
	if err != nil {
		return 0, fmt.Errorf("insert message flags: %w", err)
	}
	return id, nil
}

// existing returns the stored message a duplicate delivery names.
func existing(ctx context.Context, tx *Tx, m storage.Message) (storage.Message, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM messages WHERE thread_id = ? AND message_id = ?`, m.ThreadID, m.MessageID).Scan(&id)
	if err != nil {
		return storage.Message{}, fmt.Errorf("find duplicate message: %w", err)
	}
	return messageByID(ctx, tx.conn, m.CompanyID, id)
}

func insertAttachments(ctx context.Context, tx *Tx, m *storage.Message) error {
	if len(m.Attachments) == 0 {
		return nil
	}
	atts := make([]storage.Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		if a.BlobKey == "" {
			return fmt.Errorf("attachment %q has no blob: %w", a.Filename, storage.ErrInvalid)
		}
		err := tx.QueryRow(ctx, `INSERT INTO attachments (message_id, position, filename, content_type, size, blob_key)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, m.ID, i, a.Filename, a.ContentType, a.Size, a.BlobKey).Scan(&a.ID)
		if err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
		atts[i] = a
	}
	m.Attachments = atts
	return nil
}

// linkMessageIDs records that ids belong to the thread.
func linkMessageIDs(ctx context.Context, tx *Tx, companyID, threadID int64, ids []string) error {
	for _, id := range ids {
		id = trimMsgID(id)
		if id == "" || strings.ContainsAny(id, " \t\r\n") {
			continue
		}
		_, err := tx.Exec(ctx, `INSERT INTO msgids (company_id, message_id, thread_id) VALUES (?, ?, ?)
			ON CONFLICT (company_id, message_id, thread_id) DO NOTHING`, companyID, id, threadID)
		if err != nil {
			return fmt.Errorf("link Message-ID: %w", err)
		}
	}
	return nil
}

// retransmitted finds a message with m's Message-ID and direction in a
// thread of the same audience as t.
func retransmitted(ctx context.Context, tx *Tx, m storage.Message, t storage.Thread) (storage.Message, bool, error) {
	if m.MessageID == "" {
		return storage.Message{}, false, nil
	}
	var id int64
	err := tx.QueryRow(ctx, `SELECT m.id FROM msgids x
		JOIN threads t ON t.id = x.thread_id
		JOIN messages m ON m.thread_id = x.thread_id AND m.message_id = x.message_id
		WHERE x.company_id = ? AND x.message_id = ? AND t.team_id = ? AND COALESCE(t.member_id, 0) = ?
		AND COALESCE(t.campaign_id, 0) = ? AND m.direction = ?
		AND COALESCE(m.author_member_id, 0) = ? AND COALESCE(m.author_staff_id, 0) = ? ORDER BY m.id LIMIT 1`,
		m.CompanyID, m.MessageID, t.TeamID, t.MemberID, t.CampaignID, m.Direction,
		m.AuthorMemberID, m.AuthorStaffID).Scan(&id)
	if isNoRows(err) {
		return storage.Message{}, false, nil
	} else if err != nil {
		return storage.Message{}, false, fmt.Errorf("find retransmission: %w", err)
	}
	dup, err := messageByID(ctx, tx.conn, m.CompanyID, id)
	return dup, err == nil, err
}
