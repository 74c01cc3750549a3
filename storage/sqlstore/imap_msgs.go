package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// System flags the shared message columns hold.
const (
	flagSeen     = `\Seen`
	flagAnswered = `\Answered`
	flagFlagged  = `\Flagged`
	flagDeleted  = `\Deleted`
)

func sharedFlags(seen, answered, flagged bool) []string {
	f := make([]string, 0, 3)
	if seen {
		f = append(f, flagSeen)
	}
	if answered {
		f = append(f, flagAnswered)
	}
	if flagged {
		f = append(f, flagFlagged)
	}
	return f
}

func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

// applyFlags returns cur changed by op with flags (compared
// case-insensitively), sorted.
func applyFlags(cur []string, op storage.IMAPFlagOp, flags []string) []string {
	has := func(list []string, f string) bool {
		return slices.ContainsFunc(list, func(g string) bool { return strings.EqualFold(f, g) })
	}
	var out []string
	switch op {
	case storage.IMAPFlagsSet:
		for _, f := range flags {
			if !has(out, f) {
				out = append(out, f)
			}
		}
	case storage.IMAPFlagsAdd:
		out = append(out, cur...)
		for _, f := range flags {
			if !has(out, f) {
				out = append(out, f)
			}
		}
	case storage.IMAPFlagsDel:
		for _, f := range cur {
			if !has(flags, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

const imapMessageCols = `u.uid, COALESCE(u.message_id, 0), u.gone, u.flags, u.size, u.internal_date, u.raw_key, u.prefix,
	u.team_name, u.group_name, u.manager_name, u.team_status,
	COALESCE(f.seen, FALSE), COALESCE(f.answered, FALSE), COALESCE(f.flagged, FALSE), COALESCE(m.size, 0),
	COALESCE(m.created_at, 0), COALESCE(m.raw_key, ''), COALESCE(m.thread_id, 0), COALESCE(m.direction, ''),
	COALESCE(m.auth_results, '')`

// scanIMAPMessage reads imapMessageCols; virtual says whether flags and
// content come from the shared message.
func scanIMAPMessage(sc interface{ Scan(...any) error }, virtual, cached bool) (storage.IMAPMessage, error) {
	var m storage.IMAPMessage
	var uid, date, mdate, msize int64
	var flags, mraw string
	var seen, answered, flagged bool
	dest := []any{&uid, &m.MessageID, &m.Gone, &flags, &m.Size, &date, &m.RawKey, &m.Prefix,
		&m.TeamName, &m.GroupName, &m.ManagerName, &m.TeamStatus,
		&seen, &answered, &flagged, &msize, &mdate, &mraw, &m.ThreadID, &m.Direction, &m.AuthResults}
	if cached {
		dest = append(dest, &m.Cached.Envelope, &m.Cached.BodyStructure)
	}
	err := sc.Scan(dest...)
	m.UID = uint32(uid)
	if virtual {
		m.Flags = sharedFlags(seen, answered, flagged)
		m.Size, m.RawKey, m.Date = msize, mraw, fromMS(mdate)
	} else {
		m.Flags = splitFlags(flags)
		m.Date = fromMS(date)
		m.TeamName, m.GroupName, m.ManagerName, m.TeamStatus, m.ThreadID, m.Direction = "", "", "", "", 0, ""
	}
	return m, err
}

// sortedUIDs returns the UIDs ascending, each once, leaving the
// caller's slice as it was.
func sortedUIDs(uids []uint32) []uint32 {
	uids = slices.Clone(uids)
	slices.Sort(uids)
	return slices.Compact(uids)
}

// uidRuns groups sorted UIDs into ranges worth one query each.
func uidRuns(uids []uint32) [][2]uint32 {
	var runs [][2]uint32
	for _, u := range uids {
		if n := len(runs); n > 0 && u-runs[n-1][1] <= 256 {
			runs[n-1][1] = u
			continue
		}
		runs = append(runs, [2]uint32{u, u})
	}
	return runs
}

// IMAPMessages returns the messages of the given UIDs in UID order.
// Staff messages in a shared folder carry the delivery keyword of their
// notification emails.
func (s *Store) IMAPMessages(ctx context.Context, companyID, mailboxID int64, uids []uint32) ([]storage.IMAPMessage, error) {
	return s.imapMessagesKW(ctx, companyID, mailboxID, uids, cacheNone)
}

// IMAPMessagesCached is IMAPMessages with the cached parse of each shared
// message (Cached; the BodyStructure only when structure is true), read
// in the same query.
func (s *Store) IMAPMessagesCached(ctx context.Context, companyID, mailboxID int64, uids []uint32, structure bool) ([]storage.IMAPMessage, error) {
	if structure {
		return s.imapMessagesKW(ctx, companyID, mailboxID, uids, cacheBoth)
	}
	return s.imapMessagesKW(ctx, companyID, mailboxID, uids, cacheEnvelope)
}

// What imapMessages reads of imap_envelopes.
const (
	cacheNone = iota
	cacheEnvelope
	cacheBoth
)

func (s *Store) imapMessagesKW(ctx context.Context, companyID, mailboxID int64, uids []uint32, cache int) ([]storage.IMAPMessage, error) {
	msgs, err := imapMessagesQ(ctx, s.imapRead(), companyID, mailboxID, uids, cache)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, m := range msgs {
		if m.Direction == storage.DirectionOut && m.MessageID != 0 {
			ids = append(ids, m.MessageID)
		}
	}
	if len(ids) == 0 {
		return msgs, nil
	}
	kw, err := deliveryStates(ctx, s.imapRead(), companyID, ids)
	if err != nil {
		return nil, err
	}
	for i := range msgs {
		if k := kw[msgs[i].MessageID]; k != "" && msgs[i].Direction == storage.DirectionOut {
			msgs[i].Flags = append(msgs[i].Flags, k)
		}
	}
	return msgs, nil
}

func imapMessages(ctx context.Context, db conn, companyID, mailboxID int64, uids []uint32) ([]storage.IMAPMessage, error) {
	return imapMessagesQ(ctx, db, companyID, mailboxID, uids, cacheNone)
}

func imapMessagesQ(ctx context.Context, db conn, companyID, mailboxID int64, uids []uint32, cache int) ([]storage.IMAPMessage, error) {
	cols, join := "", ""
	switch cache {
	case cacheEnvelope:
		cols, join = ", COALESCE(e.envelope, ''), ''", " LEFT JOIN imap_envelopes e ON e.message_id = u.message_id"
	case cacheBoth:
		cols, join = ", COALESCE(e.envelope, ''), COALESCE(e.bodystructure, '')", " LEFT JOIN imap_envelopes e ON e.message_id = u.message_id"
	}
	mb, err := mailboxByID(ctx, db, companyID, mailboxID)
	if err != nil {
		return nil, err
	}
	uids = sortedUIDs(uids)
	out := make([]storage.IMAPMessage, 0, len(uids))
	i := 0
	for _, run := range uidRuns(uids) {
		rows, err := db.Query(ctx, `SELECT `+imapMessageCols+cols+` FROM imap_uids u LEFT JOIN messages m ON m.id = u.message_id
			LEFT JOIN message_flags f ON f.message_id = u.message_id`+join+`
			WHERE u.mailbox_id = ? AND u.uid BETWEEN ? AND ? ORDER BY u.uid`, mailboxID, int64(run[0]), int64(run[1]))
		if err != nil {
			return nil, fmt.Errorf("imap messages: %w", err)
		}
		for rows.Next() {
			m, err := scanIMAPMessage(rows, mb.Virtual(), cache != cacheNone)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("imap messages: %w", err)
			}
			for i < len(uids) && uids[i] < m.UID {
				i++
			}
			if i < len(uids) && uids[i] == m.UID {
				out = append(out, m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("imap messages: %w", err)
		}
	}
	return out, nil
}

// IMAPChanges lists flag changes and expunges in (since, until].
func (s *Store) IMAPChanges(ctx context.Context, companyID, mailboxID int64, since, until int64, uidNext uint32) ([]storage.IMAPChange, error) {
	db := s.imapRead()
	mb, err := mailboxByID(ctx, db, companyID, mailboxID)
	if err != nil {
		return nil, err
	}
	var out []storage.IMAPChange
	if mb.Virtual() {
		// From the changed messages to their UIDs: CROSS JOIN keeps
		// SQLite to that order, and +u.uid keeps it from walking the
		// mailbox's UIDs by the uid bound (every row of a 100k INBOX).
		rows, err := db.Query(ctx, `SELECT u.uid, f.seen, f.answered, f.flagged, m.id, m.direction FROM message_flags f
			CROSS JOIN imap_uids u CROSS JOIN messages m
			WHERE f.company_id = ? AND f.modseq > ? AND f.modseq <= ? AND u.mailbox_id = ? AND u.message_id = f.message_id
			AND m.id = f.message_id AND +u.uid < ? ORDER BY u.uid`,
			companyID, since, until, mailboxID, int64(uidNext))
		if err != nil {
			return nil, fmt.Errorf("imap changes: %w", err)
		}
		var outIDs []int64
		var msgOf []int64
		for rows.Next() {
			var uid, id int64
			var seen, answered, flagged bool
			var dir string
			if err := rows.Scan(&uid, &seen, &answered, &flagged, &id, &dir); err != nil {
				rows.Close()
				return nil, fmt.Errorf("imap changes: %w", err)
			}
			out = append(out, storage.IMAPChange{UID: uint32(uid), Flags: sharedFlags(seen, answered, flagged)})
			if dir != storage.DirectionOut {
				id = 0
			} else {
				outIDs = append(outIDs, id)
			}
			msgOf = append(msgOf, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("imap changes: %w", err)
		}
		if len(outIDs) > 0 {
			kw, err := deliveryStates(ctx, db, companyID, outIDs)
			if err != nil {
				return nil, err
			}
			for i := range out {
				if k := kw[msgOf[i]]; k != "" && msgOf[i] != 0 {
					out[i].Flags = append(out[i].Flags, k)
				}
			}
		}
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT uid, gone, flags FROM imap_uids WHERE mailbox_id = ? AND modseq > ? AND modseq <= ? AND uid < ? ORDER BY uid`,
		mailboxID, since, until, int64(uidNext))
	if err != nil {
		return nil, fmt.Errorf("imap changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		var gone bool
		var flags string
		if err := rows.Scan(&uid, &gone, &flags); err != nil {
			return nil, fmt.Errorf("imap changes: %w", err)
		}
		out = append(out, storage.IMAPChange{UID: uint32(uid), Flags: splitFlags(flags), Expunged: gone})
	}
	return out, rows.Err()
}

// IMAPStoreFlags changes flags; see storage.IMAPStore.
func (s *Store) IMAPStoreFlags(ctx context.Context, companyID, mailboxID int64, uids []uint32, op storage.IMAPFlagOp, flags []string) ([]storage.IMAPChange, error) {
	var out []storage.IMAPChange
	err := s.imapWrite(ctx, func(tx *Tx) error {
		out = nil
		mb, err := mailboxByID(ctx, tx.conn, companyID, mailboxID)
		if err != nil {
			return err
		}
		msgs, err := flagRows(ctx, tx.conn, mb, uids)
		if err != nil {
			return err
		}
		// Messages that end with the same flags are updated together.
		groups := map[string][]int64{}
		var keys []string
		for _, m := range msgs {
			if m.Gone && !mb.Virtual() {
				continue
			}
			nf := applyFlags(m.Flags, op, flags)
			if mb.Virtual() {
				nf = slices.DeleteFunc(nf, func(f string) bool { return f != flagSeen && f != flagAnswered && f != flagFlagged })
			}
			if slices.Equal(nf, applyFlags(m.Flags, storage.IMAPFlagsAdd, nil)) {
				continue
			}
			k := strings.Join(nf, " ")
			id := m.MessageID
			if !mb.Virtual() {
				id = int64(m.UID)
			}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], id)
			out = append(out, storage.IMAPChange{UID: m.UID, Flags: nf})
		}
		if len(out) == 0 {
			return nil
		}
		modseq, err := nextModseq(ctx, tx, companyID)
		if err != nil {
			return err
		}
		if mb.Virtual() {
			if err := passFlagChange(ctx, tx, companyID, modseq); err != nil {
				return err
			}
		}
		for _, k := range keys {
			nf := splitFlags(k)
			for ids := groups[k]; len(ids) > 0; {
				// PostgreSQL takes the ids as one array (one statement,
				// one plan: two 500-id statements for STORE 1:1000
				// took 12-16 ms, one ANY 9-12 ms); SQLite has no arrays.
				n := len(ids)
				in := ` = ANY(?)`
				if !s.pg {
					n = min(n, 500)
					in = ` IN (` + placeholders(n) + `)`
				}
				var q string
				var args []any
				if mb.Virtual() {
					// +company_id: by the ids, not by walking the
					// company's messages (SQLite's choice otherwise).
					q = `UPDATE message_flags SET seen = ?, answered = ?, flagged = ?, modseq = ? WHERE +company_id = ? AND message_id` + in
					args = []any{slices.Contains(nf, flagSeen), slices.Contains(nf, flagAnswered), slices.Contains(nf, flagFlagged), modseq, companyID}
				} else {
					q = `UPDATE imap_uids SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid` + in
					args = []any{k, modseq, mailboxID}
				}
				if s.pg {
					args = append(args, ids)
				} else {
					for _, id := range ids[:n] {
						args = append(args, id)
					}
				}
				if _, err := tx.Exec(ctx, q, args...); err != nil {
					return fmt.Errorf("store flags: %w", err)
				}
				ids = ids[n:]
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store flags: %w", err)
	}
	return out, nil
}

// passFlagChange moves past modseq, a change of shared flags only, the
// watermark of the company's shared folders that were synced up to just
// before it and whose filter flags cannot move a message in or out of
// (filterSpec.match reads the seen flag only for unread filters): their
// next sync then reads nothing instead of the changed rows. A folder
// synced meanwhile no longer matches the UPDATE's condition and is left.
func passFlagChange(ctx context.Context, tx *Tx, companyID, modseq int64) error {
	rows, err := tx.Query(ctx, `SELECT id, filter FROM imap_mailboxes
		WHERE company_id = ? AND synced_modseq = ? AND filter <> ''`, companyID, modseq-1)
	if err != nil {
		return fmt.Errorf("store flags: watermarks: %w", err)
	}
	var ids []any
	for rows.Next() {
		var id int64
		var filter string
		if err := rows.Scan(&id, &filter); err != nil {
			rows.Close()
			return fmt.Errorf("store flags: watermarks: %w", err)
		}
		if !parseFilter(filter).unread {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store flags: watermarks: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	args := append([]any{modseq, modseq - 1}, ids...)
	_, err = tx.Exec(ctx, `UPDATE imap_mailboxes SET synced_modseq = ? WHERE synced_modseq = ? AND id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return fmt.Errorf("store flags: watermarks: %w", err)
	}
	return nil
}

// flagRows reads what IMAPStoreFlags needs of the given UIDs: UID, shared
// message, gone, flags (the shared ones in a virtual mailbox).
func flagRows(ctx context.Context, db conn, mb storage.IMAPMailbox, uids []uint32) ([]storage.IMAPMessage, error) {
	uids = sortedUIDs(uids)
	out := make([]storage.IMAPMessage, 0, len(uids))
	i := 0
	for _, run := range uidRuns(uids) {
		rows, err := db.Query(ctx, `SELECT u.uid, COALESCE(u.message_id, 0), u.gone, u.flags,
			COALESCE(f.seen, FALSE), COALESCE(f.answered, FALSE), COALESCE(f.flagged, FALSE)
			FROM imap_uids u LEFT JOIN message_flags f ON f.message_id = u.message_id
			WHERE u.mailbox_id = ? AND u.uid BETWEEN ? AND ? ORDER BY u.uid`, mb.ID, int64(run[0]), int64(run[1]))
		if err != nil {
			return nil, fmt.Errorf("imap flags: %w", err)
		}
		for rows.Next() {
			var m storage.IMAPMessage
			var uid int64
			var flags string
			var seen, answered, flagged bool
			if err := rows.Scan(&uid, &m.MessageID, &m.Gone, &flags, &seen, &answered, &flagged); err != nil {
				rows.Close()
				return nil, fmt.Errorf("imap flags: %w", err)
			}
			m.UID = uint32(uid)
			if mb.Virtual() {
				m.Flags = sharedFlags(seen, answered, flagged)
			} else {
				m.Flags = splitFlags(flags)
			}
			for i < len(uids) && uids[i] < m.UID {
				i++
			}
			if i < len(uids) && uids[i] == m.UID {
				out = append(out, m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("imap flags: %w", err)
		}
	}
	return out, nil
}
