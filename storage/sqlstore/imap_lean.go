package sqlstore

import (
	"context"
	"fmt"

	"github.com/partnermail/partnermail/storage"
)

// IMAPEnvelopes returns the messages of the given UIDs with only what
// FETCH ENVELOPE reads, the cached envelope in the same query: a
// 100,000-message FETCH 1:* (ENVELOPE) scans six columns a row instead
// of IMAPMessagesCached's twenty-three.
func (s *Store) IMAPEnvelopes(ctx context.Context, companyID, mailboxID int64, uids []uint32, known func(int64) bool) ([]storage.IMAPMessage, error) {
	db := s.imapRead()
	mb, err := mailboxByID(ctx, db, companyID, mailboxID)
	if err != nil {
		return nil, err
	}
	uids = sortedUIDs(uids)
	if mb.Virtual() && (s.pg || known != nil) {
		idList := s.idList
		if s.pg {
			idList = 0
		}
		return envelopesByRange(ctx, db, mailboxID, uids, known, idList)
	}
	out := make([]storage.IMAPMessage, 0, len(uids))
	// A shared message's blob and thread are the message's; a private
	// one's blob and prefix are its own (no join).
	q := `SELECT u.uid, COALESCE(u.message_id, 0), COALESCE(m.raw_key, ''), '', COALESCE(m.thread_id, 0), COALESCE(e.envelope, '')
		FROM imap_uids u LEFT JOIN messages m ON m.id = u.message_id LEFT JOIN imap_envelopes e ON e.message_id = u.message_id
		WHERE u.mailbox_id = ? AND u.uid BETWEEN ? AND ? ORDER BY u.uid`
	if !mb.Virtual() {
		q = `SELECT u.uid, COALESCE(u.message_id, 0), u.raw_key, u.prefix, 0, COALESCE(e.envelope, '')
			FROM imap_uids u LEFT JOIN imap_envelopes e ON e.message_id = u.message_id
			WHERE u.mailbox_id = ? AND u.uid BETWEEN ? AND ? ORDER BY u.uid`
	}
	// Scan targets live for the whole call: passed to Scan they escape,
	// and declared in the loop they were six heap objects per row.
	var uid, msgID, thread int64
	var raw, prefix, env string
	dest := []any{&uid, &msgID, &raw, &prefix, &thread, &env}
	i := 0
	for _, run := range uidRuns(uids) {
		rows, err := db.Query(ctx, q, mailboxID, int64(run[0]), int64(run[1]))
		if err != nil {
			return nil, fmt.Errorf("imap envelopes: %w", err)
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("imap envelopes: %w", err)
			}
			for i < len(uids) && int64(uids[i]) < uid {
				i++
			}
			if i < len(uids) && int64(uids[i]) == uid {
				out = append(out, storage.IMAPMessage{UID: uint32(uid), MessageID: msgID, RawKey: raw, Prefix: prefix,
					ThreadID: thread, Cached: storage.IMAPCached{Envelope: env}})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("imap envelopes: %w", err)
		}
	}
	return out, nil
}
