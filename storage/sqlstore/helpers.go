package sqlstore

// Helpers for the files of this package written by other areas
// (queue*.go, imap*.go), in one place:
//
//   - s.write(ctx, func(tx *Tx) error) — the one way to write: a
//     group-committed savepoint (SQLite) or a transaction (PostgreSQL);
//     durable when it returns nil. Never call s.write inside fn.
//   - s.read() — the reader pool as a conn; tx.conn inside a write.
//   - conn/Tx Exec, Query, QueryRow take ? placeholders (rebound to $n
//     for PostgreSQL); s.pg tells the dialect for the rare query that
//     differs (FOR UPDATE SKIP LOCKED is PostgreSQL-only; SQLite's single
//     writer already serialises claims).
//   - ms(t) / fromMS(v) — times as BIGINT unix milliseconds, zero ↔ 0.
//   - nullID(id) — 0 as NULL for optional references.
//   - notFound(err, what), affected(res, err, what), isUnique(err),
//     isNoRows(err) — map database outcomes to storage.ErrNotFound,
//     storage.ErrExists.
//   - nextModseq(ctx, tx, companyID) — the company's next modseq; give it
//     to every message row changed in tx (flags, moves) so the IMAP view
//     sees the change.
//   - InsertOutbound(ctx, tx, e, at) — queue one outbound row.
