package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// IMAPStatus counts the live messages of a mailbox.
func (s *Store) IMAPStatus(ctx context.Context, companyID, mailboxID int64) (storage.IMAPCounts, error) {
	db := s.imapRead()
	var c storage.IMAPCounts
	mb, err := mailboxByID(ctx, db, companyID, mailboxID)
	if err != nil {
		return c, err
	}
	if mb.Virtual() {
		var n, unseen, size int64
		err := db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN f.seen THEN 0 ELSE 1 END), 0), COALESCE(SUM(m.size), 0)
			FROM imap_uids u JOIN messages m ON m.id = u.message_id JOIN message_flags f ON f.message_id = u.message_id
			WHERE u.mailbox_id = ? AND u.gone = FALSE`, mailboxID).
			Scan(&n, &unseen, &size)
		if err != nil {
			return c, fmt.Errorf("imap status: %w", err)
		}
		return storage.IMAPCounts{Messages: uint32(n), Unseen: uint32(unseen), Size: size}, nil
	}
	rows, err := db.Query(ctx, `SELECT flags, size FROM imap_uids WHERE mailbox_id = ? AND gone = FALSE`, mailboxID)
	if err != nil {
		return c, fmt.Errorf("imap status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var flags string
		var size int64
		if err := rows.Scan(&flags, &size); err != nil {
			return c, fmt.Errorf("imap status: %w", err)
		}
		f := splitFlags(flags)
		c.Messages++
		c.Size += size
		if !slices.Contains(f, flagSeen) {
			c.Unseen++
		}
		if slices.Contains(f, flagDeleted) {
			c.Deleted++
		}
	}
	return c, rows.Err()
}

// IMAPKeywords lists the keywords of a private mailbox's live messages
// from fromUID on (a range of the primary key). The distinct flag
// strings of a mailbox are few, however many messages share them.
func (s *Store) IMAPKeywords(ctx context.Context, companyID, mailboxID int64, fromUID uint32) ([]string, error) {
	db := s.imapRead()
	if _, err := mailboxByID(ctx, db, companyID, mailboxID); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT DISTINCT flags FROM imap_uids WHERE mailbox_id = ? AND uid >= ? AND gone = FALSE AND flags <> ''`,
		mailboxID, int64(fromUID))
	if err != nil {
		return nil, fmt.Errorf("imap keywords: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var flags string
		if err := rows.Scan(&flags); err != nil {
			return nil, fmt.Errorf("imap keywords: %w", err)
		}
		for _, f := range splitFlags(flags) {
			if !strings.HasPrefix(f, `\`) && !slices.ContainsFunc(out, func(g string) bool { return strings.EqualFold(f, g) }) {
				out = append(out, f)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("imap keywords: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// IMAPFlagUIDs lists the UIDs (gone ones included) with or without a flag.
func (s *Store) IMAPFlagUIDs(ctx context.Context, companyID, mailboxID int64, flag string, set bool) ([]uint32, error) {
	db := s.imapRead()
	mb, err := mailboxByID(ctx, db, companyID, mailboxID)
	if err != nil {
		return nil, err
	}
	var list []uint32
	if mb.Virtual() {
		col := ""
		switch {
		case strings.EqualFold(flag, flagSeen):
			col = "f.seen"
		case strings.EqualFold(flag, flagAnswered):
			col = "f.answered"
		case strings.EqualFold(flag, flagFlagged):
			col = "f.flagged"
		}
		if col == "" { // no other flag is kept in a shared folder
			if !set {
				return s.imapAllUIDs(ctx, mailboxID)
			}
			return nil, nil
		}
		q := `SELECT u.uid FROM imap_uids u JOIN message_flags f ON f.message_id = u.message_id
			WHERE u.mailbox_id = ? AND ` + col + ` = ? ORDER BY u.uid`
		args := []any{mailboxID, set}
		if col == "f.seen" && !set {
			// Few: from the message_flags_unseen index to the UIDs (CROSS
			// JOIN keeps SQLite to that order rather than walking every
			// UID of the mailbox to return them sorted).
			q = `SELECT u.uid FROM message_flags f CROSS JOIN imap_uids u
				WHERE f.company_id = ? AND f.seen = FALSE AND u.mailbox_id = ? AND u.message_id = f.message_id ORDER BY u.uid`
			args = []any{companyID, mailboxID}
		}
		rows, err := db.Query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("imap flag uids: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var u int64
			if err := rows.Scan(&u); err != nil {
				return nil, fmt.Errorf("imap flag uids: %w", err)
			}
			list = append(list, uint32(u))
		}
		return list, rows.Err()
	}
	rows, err := db.Query(ctx, `SELECT uid, flags FROM imap_uids WHERE mailbox_id = ? ORDER BY uid`, mailboxID)
	if err != nil {
		return nil, fmt.Errorf("imap flag uids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u int64
		var flags string
		if err := rows.Scan(&u, &flags); err != nil {
			return nil, fmt.Errorf("imap flag uids: %w", err)
		}
		has := slices.ContainsFunc(splitFlags(flags), func(f string) bool { return strings.EqualFold(f, flag) })
		if has == set {
			list = append(list, uint32(u))
		}
	}
	return list, rows.Err()
}

func (s *Store) imapAllUIDs(ctx context.Context, mailboxID int64) ([]uint32, error) {
	rows, err := s.imapRead().Query(ctx, `SELECT uid FROM imap_uids WHERE mailbox_id = ? ORDER BY uid`, mailboxID)
	if err != nil {
		return nil, fmt.Errorf("imap uids: %w", err)
	}
	defer rows.Close()
	var list []uint32
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("imap uids: %w", err)
		}
		list = append(list, uint32(u))
	}
	return list, rows.Err()
}

// IMAPUIDOf returns the live UID of a shared message in a mailbox.
func (s *Store) IMAPUIDOf(ctx context.Context, companyID, mailboxID, messageID int64) (uint32, error) {
	db := s.imapRead()
	if _, err := mailboxByID(ctx, db, companyID, mailboxID); err != nil {
		return 0, err
	}
	var u int64
	err := db.QueryRow(ctx, `SELECT uid FROM imap_uids WHERE mailbox_id = ? AND message_id = ? AND gone = FALSE ORDER BY uid DESC LIMIT 1`,
		mailboxID, messageID).Scan(&u)
	if err != nil {
		return 0, notFound(err, fmt.Sprintf("message %d in mailbox %d", messageID, mailboxID))
	}
	return uint32(u), nil
}

// IMAPMove moves private messages between private mailboxes.
func (s *Store) IMAPMove(ctx context.Context, companyID, fromMailbox int64, uids []uint32, toMailbox int64) (src, dst []uint32, err error) {
	err = s.imapWrite(ctx, func(tx *Tx) error {
		src, dst = nil, nil
		if _, err := privateMailbox(ctx, tx, companyID, fromMailbox); err != nil {
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
			if m.Gone {
				continue
			}
			u, err := insertPrivate(ctx, tx, toMailbox, modseq, m)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE imap_uids SET gone = TRUE, modseq = ? WHERE mailbox_id = ? AND uid = ?`,
				modseq, fromMailbox, int64(m.UID)); err != nil {
				return err
			}
			src, dst = append(src, m.UID), append(dst, u)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("move: %w", err)
	}
	return src, dst, nil
}

// IMAPSetCaches stores the parses of many shared messages at once.
func (s *Store) IMAPSetCaches(ctx context.Context, companyID int64, c map[int64]storage.IMAPCached) error {
	if len(c) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	err := s.imapWrite(ctx, func(tx *Tx) error {
		for len(ids) > 0 {
			n := min(len(ids), 300)
			// Only messages of the company get a cache row (+company_id:
			// found by id, not by walking the company's messages).
			args := []any{companyID}
			for _, id := range ids[:n] {
				args = append(args, id)
			}
			rows, err := tx.Query(ctx, `SELECT id FROM messages WHERE +company_id = ? AND id IN (`+placeholders(n)+`)`, args...)
			if err != nil {
				return err
			}
			var ok []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ok = append(ok, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			ids = ids[n:]
			if len(ok) == 0 {
				continue
			}
			var b strings.Builder
			b.WriteString(`INSERT INTO imap_envelopes (message_id, envelope, bodystructure) VALUES `)
			vals := make([]any, 0, 3*len(ok))
			for i, id := range ok {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?)")
				vals = append(vals, id, c[id].Envelope, c[id].BodyStructure)
			}
			b.WriteString(` ON CONFLICT (message_id) DO UPDATE SET
				envelope = CASE WHEN excluded.envelope <> '' THEN excluded.envelope ELSE imap_envelopes.envelope END,
				bodystructure = CASE WHEN excluded.bodystructure <> '' THEN excluded.bodystructure ELSE imap_envelopes.bodystructure END`)
			if _, err := tx.Exec(ctx, b.String(), vals...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("imap set caches: %w", err)
	}
	return nil
}

// IMAPUIDRuns lists the live UIDs from uid from on as runs, computed by
// the database (a 100,000-message INBOX is one row).
func (s *Store) IMAPUIDRuns(ctx context.Context, companyID, mailboxID int64, from uint32) ([][2]uint32, error) {
	db := s.imapRead()
	if _, err := mailboxByID(ctx, db, companyID, mailboxID); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT MIN(uid), MAX(uid) FROM (
		SELECT uid, uid - ROW_NUMBER() OVER (ORDER BY uid) AS grp FROM imap_uids
		WHERE mailbox_id = ? AND uid >= ? AND gone = FALSE) AS r GROUP BY grp ORDER BY 1`, mailboxID, int64(from))
	if err != nil {
		return nil, fmt.Errorf("imap uid runs: %w", err)
	}
	defer rows.Close()
	var out [][2]uint32
	for rows.Next() {
		var lo, hi int64
		if err := rows.Scan(&lo, &hi); err != nil {
			return nil, fmt.Errorf("imap uid runs: %w", err)
		}
		out = append(out, [2]uint32{uint32(lo), uint32(hi)})
	}
	return out, rows.Err()
}

// IMAPFlags returns the flags of the given UIDs, with the delivery
// keywords of staff messages in shared folders.
func (s *Store) IMAPFlags(ctx context.Context, companyID, mailboxID int64, uids []uint32) ([]storage.IMAPChange, error) {
	db := s.imapRead()
	mb, err := mailboxByID(ctx, db, companyID, mailboxID)
	if err != nil {
		return nil, err
	}
	uids = sortedUIDs(uids)
	out := make([]storage.IMAPChange, 0, len(uids))
	var outIDs []int64
	var msgOf []int64
	i := 0
	for _, run := range uidRuns(uids) {
		var q string
		args := []any{mailboxID, int64(run[0]), int64(run[1])}
		if mb.Virtual() {
			// The id only of staff messages (delivery keywords): no
			// direction string to read for each row.
			q = `SELECT u.uid, f.seen, f.answered, f.flagged, CASE WHEN m.direction = ? THEN m.id ELSE 0 END
				FROM imap_uids u JOIN messages m ON m.id = u.message_id JOIN message_flags f ON f.message_id = u.message_id
				WHERE u.mailbox_id = ? AND u.uid BETWEEN ? AND ? ORDER BY u.uid`
			args = append([]any{storage.DirectionOut}, args...)
		} else {
			q = `SELECT uid, flags FROM imap_uids WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`
		}
		rows, err := db.Query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("imap flags: %w", err)
		}
		for rows.Next() {
			var uid, id int64
			var c storage.IMAPChange
			if mb.Virtual() {
				var seen, answered, flagged bool
				err = rows.Scan(&uid, &seen, &answered, &flagged, &id)
				c.Flags = sharedFlags(seen, answered, flagged)
			} else {
				var flags string
				err = rows.Scan(&uid, &flags)
				c.Flags = splitFlags(flags)
			}
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("imap flags: %w", err)
			}
			c.UID = uint32(uid)
			for i < len(uids) && uids[i] < c.UID {
				i++
			}
			if i < len(uids) && uids[i] == c.UID {
				out = append(out, c)
				msgOf = append(msgOf, id)
				if id != 0 {
					outIDs = append(outIDs, id)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("imap flags: %w", err)
		}
	}
	if len(outIDs) > 0 {
		kw, err := deliveryStates(ctx, db, companyID, outIDs)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if k := kw[msgOf[i]]; k != "" {
				out[i].Flags = append(out[i].Flags, k)
			}
		}
	}
	return out, nil
}

// IMAPGoneSince lists the UIDs marked gone after modseq since.
func (s *Store) IMAPGoneSince(ctx context.Context, companyID, mailboxID int64, since int64) ([]uint32, error) {
	db := s.imapRead()
	if _, err := mailboxByID(ctx, db, companyID, mailboxID); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT uid FROM imap_uids WHERE mailbox_id = ? AND modseq > ? AND gone = TRUE ORDER BY uid`, mailboxID, since)
	if err != nil {
		return nil, fmt.Errorf("imap gone uids: %w", err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("imap gone uids: %w", err)
		}
		out = append(out, uint32(u))
	}
	return out, rows.Err()
}
