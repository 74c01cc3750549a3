package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// privateMailbox loads a private mailbox of the company for writing.
func privateMailbox(ctx context.Context, tx *Tx, companyID, mailboxID int64) (storage.IMAPMailbox, error) {
	mb, err := mailboxByID(ctx, tx.conn, companyID, mailboxID)
	if err != nil {
		return mb, err
	}
	if mb.Virtual() {
		return mb, fmt.Errorf("mailbox %q is shared: %w", mb.Name, storage.ErrInvalid)
	}
	return mb, nil
}

// insertPrivate adds m to a private mailbox under the next UID.
func insertPrivate(ctx context.Context, tx *Tx, mailboxID, modseq int64, m storage.IMAPMessage) (uint32, error) {
	var uid int64
	if err := tx.QueryRow(ctx, `UPDATE imap_mailboxes SET uid_next = uid_next + 1 WHERE id = ? RETURNING uid_next - 1`, mailboxID).Scan(&uid); err != nil {
		return 0, fmt.Errorf("next uid: %w", err)
	}
	flags := applyFlags(nil, storage.IMAPFlagsAdd, m.Flags)
	_, err := tx.Exec(ctx, `INSERT INTO imap_uids (mailbox_id, uid, message_id, modseq, raw_key, prefix, size, flags, internal_date)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, mailboxID, uid, nullID(m.MessageID), modseq, m.RawKey, m.Prefix, m.Size,
		strings.Join(flags, " "), ms(m.Date))
	if err != nil {
		return 0, fmt.Errorf("insert private message: %w", err)
	}
	return uint32(uid), nil
}

// IMAPAppend adds a private message (its blob committed) to a private
// mailbox.
func (s *Store) IMAPAppend(ctx context.Context, companyID, mailboxID int64, m storage.IMAPMessage) (uint32, error) {
	if m.RawKey == "" {
		return 0, fmt.Errorf("append: no blob: %w", storage.ErrInvalid)
	}
	if m.Date.IsZero() {
		m.Date = now()
	}
	var uid uint32
	err := s.imapWrite(ctx, func(tx *Tx) error {
		if _, err := privateMailbox(ctx, tx, companyID, mailboxID); err != nil {
			return err
		}
		modseq, err := nextModseq(ctx, tx, companyID)
		if err != nil {
			return err
		}
		uid, err = insertPrivate(ctx, tx, mailboxID, modseq, m)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("append: %w", err)
	}
	return uid, nil
}

// IMAPCopy copies messages into a private mailbox as private copies.
func (s *Store) IMAPCopy(ctx context.Context, companyID, fromMailbox int64, uids []uint32, toMailbox int64, prefix func(storage.IMAPMessage) string) (src, dst []uint32, err error) {
	err = s.imapWrite(ctx, func(tx *Tx) error {
		src, dst = nil, nil
		from, err := mailboxByID(ctx, tx.conn, companyID, fromMailbox)
		if err != nil {
			return err
		}
		if _, err := privateMailbox(ctx, tx, companyID, toMailbox); err != nil {
			return err
		}
		msgs, err := imapMessages(ctx, tx.conn, companyID, fromMailbox, uids)
		if err != nil {
			return err
		}
		modseq, err := nextModseq(ctx, tx, companyID)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Gone && !from.Virtual() {
				continue
			}
			if from.Virtual() && prefix != nil {
				m.Prefix = prefix(m)
			}
			u, err := insertPrivate(ctx, tx, toMailbox, modseq, m)
			if err != nil {
				return err
			}
			src, dst = append(src, m.UID), append(dst, u)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("copy: %w", err)
	}
	return src, dst, nil
}

// IMAPExpunge removes private messages (the given UIDs, or every \Deleted
// one when uids is nil) and returns their UIDs.
func (s *Store) IMAPExpunge(ctx context.Context, companyID, mailboxID int64, uids []uint32) ([]uint32, error) {
	var out []uint32
	err := s.imapWrite(ctx, func(tx *Tx) error {
		out = nil
		if _, err := privateMailbox(ctx, tx, companyID, mailboxID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT uid, flags FROM imap_uids WHERE mailbox_id = ? AND gone = FALSE ORDER BY uid`, mailboxID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var uid int64
			var flags string
			if err := rows.Scan(&uid, &flags); err != nil {
				rows.Close()
				return err
			}
			if !slices.Contains(splitFlags(flags), flagDeleted) {
				continue
			}
			if uids == nil || slices.Contains(uids, uint32(uid)) {
				out = append(out, uint32(uid))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		modseq, err := nextModseq(ctx, tx, companyID)
		if err != nil {
			return err
		}
		for _, u := range out {
			if _, err := tx.Exec(ctx, `UPDATE imap_uids SET gone = TRUE, modseq = ? WHERE mailbox_id = ? AND uid = ?`, modseq, mailboxID, int64(u)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expunge: %w", err)
	}
	return out, nil
}

// IMAPCache returns the cached parses of shared messages.
func (s *Store) IMAPCache(ctx context.Context, companyID int64, ids []int64) (map[int64]storage.IMAPCached, error) {
	out := make(map[int64]storage.IMAPCached, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := []any{companyID}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		rows, err := s.imapRead().Query(ctx, `SELECT e.message_id, e.envelope, e.bodystructure FROM imap_envelopes e
			JOIN messages m ON m.id = e.message_id WHERE m.company_id = ? AND e.message_id IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("imap cache: %w", err)
		}
		for rows.Next() {
			var id int64
			var c storage.IMAPCached
			if err := rows.Scan(&id, &c.Envelope, &c.BodyStructure); err != nil {
				rows.Close()
				return nil, fmt.Errorf("imap cache: %w", err)
			}
			out[id] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("imap cache: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// IMAPSetCache stores the parse of a shared message.
func (s *Store) IMAPSetCache(ctx context.Context, companyID, id int64, c storage.IMAPCached) error {
	err := s.imapWrite(ctx, func(tx *Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM messages WHERE company_id = ? AND id = ?`, companyID, id).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("message %d", id))
		}
		_, err := tx.Exec(ctx, `INSERT INTO imap_envelopes (message_id, envelope, bodystructure) VALUES (?, ?, ?)
			ON CONFLICT (message_id) DO UPDATE SET envelope = excluded.envelope, bodystructure = excluded.bodystructure`,
			id, c.Envelope, c.BodyStructure)
		return err
	})
	if err != nil {
		return fmt.Errorf("imap set cache: %w", err)
	}
	return nil
}
