package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/partnermail/partnermail/storage"
)

// envelopesByRange is IMAPEnvelopes of a shared folder on PostgreSQL,
// and on SQLite when the caller holds cached envelopes (known).
//
// The one-query join probes messages and the ENVELOPE cache by primary
// key for every UID: at 100,000 messages that took 12.6 ms for 4,000
// rows, 0.37 s of the database's CPU for FETCH 1:* (ENVELOPE), taken
// from the client reading the answer on the same machine. Once ANALYZE
// has run, PostgreSQL may even plan it as hash joins over both whole
// tables (45 ms for 4,000 rows).
//
// Here the UID rows, which carry their message's thread, come first;
// then the cache, as one range scan of its primary key (a folder's
// message ids ascend with its UIDs), merged here; then, only for the
// messages with no cached ENVELOPE yet, their blob keys. Where the ids
// are sparse (a small group's folder) a range would read mostly rows of
// other folders: those are read by id instead.
//
// Messages known reports are left out of the last two.
//
// idList is how many ids an IN (...) list holds; 0 means PostgreSQL's
// arrays instead.
func envelopesByRange(ctx context.Context, db conn, mailboxID int64, uids []uint32, known func(int64) bool, idList int) ([]storage.IMAPMessage, error) {
	out := make([]storage.IMAPMessage, 0, len(uids))
	var pos []int // indexes into out of one run's shared messages, by message id
	for _, run := range uidRuns(uids) {
		start := len(out)
		if err := appendRunIDs(ctx, db, mailboxID, run, uids, &out); err != nil {
			return nil, err
		}
		pos = pos[:0]
		for i := start; i < len(out); i++ {
			if id := out[i].MessageID; id != 0 && (known == nil || !known(id)) {
				pos = append(pos, i)
			}
		}
		if len(pos) == 0 {
			continue
		}
		slices.SortStableFunc(pos, func(a, b int) int { return cmp.Compare(out[a].MessageID, out[b].MessageID) })
		lo, hi := out[pos[0]].MessageID, out[pos[len(pos)-1]].MessageID
		var env string
		setEnv := func(m *storage.IMAPMessage) { m.Cached.Envelope = env }
		var err error
		if hi-lo < 4*int64(len(pos)) {
			err = mergeByID(ctx, db, `SELECT message_id, envelope FROM imap_envelopes WHERE message_id BETWEEN ? AND ? ORDER BY message_id`,
				[]any{lo, hi}, out, pos, []any{&env}, setEnv)
		} else {
			err = mergeByIDs(ctx, db, idList, `SELECT message_id, envelope FROM imap_envelopes WHERE message_id`, out, pos, []any{&env}, setEnv)
		}
		if err != nil {
			return nil, err
		}
		// messages FETCH must parse: their blobs
		pos = slices.DeleteFunc(pos, func(p int) bool { return out[p].Cached.Envelope != "" })
		if len(pos) > 0 {
			var raw string
			err := mergeByIDs(ctx, db, idList, `SELECT id, raw_key FROM messages WHERE id`, out, pos, []any{&raw},
				func(m *storage.IMAPMessage) { m.RawKey = raw })
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// mergeByIDs is mergeByID of q (its rows an id and then dest, ending
// with the id column's name) restricted to the ids of the messages of
// pos: one array with idList 0 (PostgreSQL), else lists of idList ids
// (SQLite has no arrays).
func mergeByIDs(ctx context.Context, db conn, idList int, q string, out []storage.IMAPMessage, pos []int, dest []any, set func(*storage.IMAPMessage)) error {
	pg := idList == 0
	for len(pos) > 0 {
		n := len(pos)
		if !pg {
			n = min(n, idList)
		}
		batch := pos[:n]
		pos = pos[n:]
		ids := make([]int64, n)
		for i, p := range batch {
			ids[i] = out[p].MessageID
		}
		where, args := ` = ANY(?)`, []any{ids}
		if !pg {
			where, args = ` IN (`+placeholders(n)+`)`, make([]any, n)
			for i, id := range ids {
				args[i] = id
			}
		}
		if err := mergeByID(ctx, db, q+where+` ORDER BY 1`, args, out, batch, dest, set); err != nil {
			return err
		}
	}
	return nil
}

// appendRunIDs appends to out the UIDs of uids within run, each with its
// shared message's id (0 for none) and thread.
func appendRunIDs(ctx context.Context, db conn, mailboxID int64, run [2]uint32, uids []uint32, out *[]storage.IMAPMessage) error {
	rows, err := db.Query(ctx, `SELECT uid, COALESCE(message_id, 0), thread_id FROM imap_uids
		WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxID, int64(run[0]), int64(run[1]))
	if err != nil {
		return fmt.Errorf("imap envelopes: %w", err)
	}
	defer rows.Close()
	i, _ := slices.BinarySearch(uids, run[0])
	var uid, msgID, thread int64
	for rows.Next() {
		if err := rows.Scan(&uid, &msgID, &thread); err != nil {
			return fmt.Errorf("imap envelopes: %w", err)
		}
		for i < len(uids) && int64(uids[i]) < uid {
			i++
		}
		if i < len(uids) && int64(uids[i]) == uid {
			*out = append(*out, storage.IMAPMessage{UID: uint32(uid), MessageID: msgID, ThreadID: thread})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("imap envelopes: %w", err)
	}
	return nil
}

// mergeByID runs q, whose rows are an id and then dest in ascending id
// order, and calls set with every message of out (listed by pos in id
// order) of that id, after each row's Scan.
func mergeByID(ctx context.Context, db conn, q string, args []any, out []storage.IMAPMessage, pos []int, dest []any, set func(*storage.IMAPMessage)) error {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("imap envelopes: %w", err)
	}
	defer rows.Close()
	var id int64
	dest = append([]any{&id}, dest...)
	j := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("imap envelopes: %w", err)
		}
		for j < len(pos) && out[pos[j]].MessageID < id {
			j++
		}
		for k := j; k < len(pos) && out[pos[k]].MessageID == id; k++ {
			set(&out[pos[k]])
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("imap envelopes: %w", err)
	}
	return nil
}
