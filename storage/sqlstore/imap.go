package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

var _ storage.IMAPStore = (*Store)(nil)

const mailboxCols = `id, company_id, staff_id, name, filter, uid_next`

func scanMailbox(sc interface{ Scan(...any) error }) (storage.IMAPMailbox, error) {
	var m storage.IMAPMailbox
	var next int64
	err := sc.Scan(&m.ID, &m.CompanyID, &m.StaffID, &m.Name, &m.Filter, &next)
	m.UIDNext = uint32(next)
	return m, err
}

// IMAPMailboxes lists the company's shared mailboxes and the staff
// member's private ones, by name.
func (s *Store) IMAPMailboxes(ctx context.Context, companyID, staffID int64) ([]storage.IMAPMailbox, error) {
	rows, err := s.imapRead().Query(ctx, `SELECT `+mailboxCols+` FROM imap_mailboxes
		WHERE company_id = ? AND (staff_id = 0 OR staff_id = ?) ORDER BY name`, companyID, staffID)
	if err != nil {
		return nil, fmt.Errorf("imap mailboxes: %w", err)
	}
	defer rows.Close()
	var list []storage.IMAPMailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, fmt.Errorf("imap mailboxes: %w", err)
		}
		list = append(list, m)
	}
	return list, rows.Err()
}

// IMAPEnsureMailbox finds or creates a mailbox; see storage.IMAPStore.
func (s *Store) IMAPEnsureMailbox(ctx context.Context, companyID int64, mb storage.IMAPMailbox) (storage.IMAPMailbox, error) {
	find := func(db conn) (storage.IMAPMailbox, error) {
		if mb.Filter != "" {
			return scanMailbox(db.QueryRow(ctx, `SELECT `+mailboxCols+` FROM imap_mailboxes
				WHERE company_id = ? AND staff_id = 0 AND filter = ?`, companyID, mb.Filter))
		}
		return scanMailbox(db.QueryRow(ctx, `SELECT `+mailboxCols+` FROM imap_mailboxes
			WHERE company_id = ? AND staff_id = ? AND name = ?`, companyID, mb.StaffID, mb.Name))
	}
	got, err := find(s.imapRead())
	if err == nil && got.Name == mb.Name {
		return got, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return got, fmt.Errorf("imap mailbox %q: %w", mb.Name, err)
	}
	if mb.Filter != "" {
		mb.StaffID = 0
	}
	err = s.imapWrite(ctx, func(tx *Tx) error {
		got, err = find(tx.conn)
		switch {
		case err == nil && got.Name == mb.Name:
			return nil
		case err == nil: // the group or manager was renamed
			got.Name = mb.Name
			_, err := tx.Exec(ctx, `UPDATE imap_mailboxes SET name = ? WHERE id = ?`, mb.Name, got.ID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		got, err = insertMailbox(ctx, tx, companyID, mb.StaffID, mb.Name, mb.Filter)
		return err
	})
	if err != nil {
		return got, fmt.Errorf("imap mailbox %q: %w", mb.Name, err)
	}
	return got, nil
}

func insertMailbox(ctx context.Context, tx *Tx, companyID, staffID int64, name, filter string) (storage.IMAPMailbox, error) {
	m, err := scanMailbox(tx.QueryRow(ctx, `INSERT INTO imap_mailboxes (company_id, staff_id, name, filter, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING `+mailboxCols, companyID, staffID, name, filter, ms(now())))
	if isUnique(err) {
		return m, fmt.Errorf("mailbox %q: %w", name, storage.ErrExists)
	}
	if err != nil {
		return m, fmt.Errorf("insert mailbox: %w", err)
	}
	return m, nil
}

// IMAPCreateMailbox creates a private mailbox.
func (s *Store) IMAPCreateMailbox(ctx context.Context, companyID, staffID int64, name string) (storage.IMAPMailbox, error) {
	if staffID == 0 || name == "" {
		return storage.IMAPMailbox{}, fmt.Errorf("create mailbox: %w", storage.ErrInvalid)
	}
	var m storage.IMAPMailbox
	err := s.imapWrite(ctx, func(tx *Tx) error {
		var err error
		m, err = insertMailbox(ctx, tx, companyID, staffID, name, "")
		return err
	})
	if err != nil {
		return m, fmt.Errorf("create mailbox: %w", err)
	}
	return m, nil
}

// IMAPRenameMailbox renames a private mailbox and the ones below it; they
// keep their ids, so their UIDVALIDITY. A mailbox later created under the
// old name gets a new id, so a new UIDVALIDITY (RFC 9051 section 6.3.6).
func (s *Store) IMAPRenameMailbox(ctx context.Context, companyID, staffID int64, from, to string) error {
	err := s.imapWrite(ctx, func(tx *Tx) error {
		var n int
		err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM imap_mailboxes WHERE company_id = ? AND staff_id = ? AND name = ?`,
			companyID, staffID, from).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 || staffID == 0 {
			return fmt.Errorf("mailbox %q: %w", from, storage.ErrNotFound)
		}
		rows, err := tx.Query(ctx, `SELECT id, name FROM imap_mailboxes WHERE company_id = ? AND staff_id = ?
			AND (name = ? OR substr(name, 1, ?) = ?)`, companyID, staffID, from, len(from)+1, from+"/")
		if err != nil {
			return err
		}
		type mb struct {
			id   int64
			name string
		}
		var list []mb
		for rows.Next() {
			var m mb
			if err := rows.Scan(&m.id, &m.name); err != nil {
				rows.Close()
				return err
			}
			list = append(list, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range list {
			name := to + strings.TrimPrefix(m.name, from)
			if _, err := tx.Exec(ctx, `UPDATE imap_mailboxes SET name = ? WHERE id = ?`, name, m.id); err != nil {
				if isUnique(err) {
					return fmt.Errorf("mailbox %q: %w", name, storage.ErrExists)
				}
				return err
			}
			// An unsubscribed folder stays unsubscribed under its new
			// name (and a folder created later under the old name
			// starts subscribed, as every new folder).
			if _, err := tx.Exec(ctx, `DELETE FROM imap_unsubscribed WHERE staff_id = ? AND name = ?`, staffID, name); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE imap_unsubscribed SET name = ? WHERE staff_id = ? AND name = ?`,
				name, staffID, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rename mailbox: %w", err)
	}
	return nil
}

// IMAPDeleteMailbox deletes a private mailbox with its messages.
func (s *Store) IMAPDeleteMailbox(ctx context.Context, companyID, staffID int64, name string) error {
	err := s.imapWrite(ctx, func(tx *Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM imap_mailboxes WHERE company_id = ? AND staff_id = ? AND name = ?`,
			companyID, staffID, name).Scan(&id)
		if err != nil || staffID == 0 {
			return notFound(err, fmt.Sprintf("mailbox %q", name))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM imap_uids WHERE mailbox_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM imap_mailboxes WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete mailbox: %w", err)
	}
	return nil
}

// mailboxByID loads a mailbox of the company.
func mailboxByID(ctx context.Context, db conn, companyID, id int64) (storage.IMAPMailbox, error) {
	m, err := scanMailbox(db.QueryRow(ctx, `SELECT `+mailboxCols+` FROM imap_mailboxes WHERE company_id = ? AND id = ?`, companyID, id))
	if err != nil {
		return m, notFound(err, fmt.Sprintf("mailbox %d", id))
	}
	return m, nil
}

// IMAPModseq returns the company's current modseq.
func (s *Store) IMAPModseq(ctx context.Context, companyID int64) (int64, error) {
	var v int64
	if err := s.imapRead().QueryRow(ctx, `SELECT value FROM modseq WHERE company_id = ?`, companyID).Scan(&v); err != nil {
		return 0, notFound(err, "modseq")
	}
	return v, nil
}

// IMAPOutboundByMessageID finds a staff-written message by Message-ID.
func (s *Store) IMAPOutboundByMessageID(ctx context.Context, companyID int64, messageID string) (storage.Message, error) {
	m, err := scanMessage(s.imapRead().QueryRow(ctx, `SELECT `+messageCols+` FROM `+messagesWithFlags+`
		WHERE m.company_id = ? AND m.message_id = ? AND m.direction = ? ORDER BY m.id LIMIT 1`,
		companyID, trimMsgID(messageID), storage.DirectionOut))
	if err != nil {
		return m, notFound(err, "outbound message "+messageID)
	}
	return m, nil
}
