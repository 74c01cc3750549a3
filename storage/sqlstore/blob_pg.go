package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnermail/partnermail/storage"
)

// pgChunk is the size of the chunks new PostgreSQL blobs are cut into.
const pgChunk = 256 << 10

// pgBlobs keeps blobs inside PostgreSQL so that every gateway process sees
// them. Chunks are written as they fill; the blobs row, inserted at Commit,
// is what makes a blob exist, so a crashed writer leaves only chunks no
// blobs row names (collectable garbage).
type pgBlobs struct{ s *Store }

var _ storage.BlobStore = (*pgBlobs)(nil)

func (p *pgBlobs) Create(ctx context.Context) (storage.BlobWriter, error) {
	return &pgWriter{s: p.s, ctx: ctx, key: newKey(), buf: make([]byte, 0, pgChunk)}, nil
}

func (p *pgBlobs) Open(ctx context.Context, key string) (storage.Blob, error) {
	if !validKey(key) {
		return nil, badKey(key)
	}
	db := p.s.read()
	b := &chunkBlob{}
	err := db.QueryRow(ctx, `SELECT size, chunk_size FROM blobs WHERE key = ?`, key).Scan(&b.size, &b.chunk)
	if err != nil {
		return nil, notFound(err, "open blob "+key)
	}
	b.fetch = func(seq int64) ([]byte, error) {
		var d []byte
		err := db.QueryRow(ctx, `SELECT data FROM blob_chunks WHERE key = ? AND seq = ?`, key, seq).Scan(&d)
		if err != nil {
			return nil, notFound(err, fmt.Sprintf("read blob %s chunk %d", key, seq))
		}
		return d, nil
	}
	return b, nil
}

func (p *pgBlobs) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return badKey(key)
	}
	return p.s.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM blobs WHERE key = ?`, key)
		if err != nil {
			return fmt.Errorf("delete blob: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return badKey(key)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM blob_chunks WHERE key = ?`, key); err != nil {
			return fmt.Errorf("delete blob chunks: %w", err)
		}
		return nil
	})
}

// pgWriter cuts a blob into chunks, inserting each as it fills.
type pgWriter struct {
	s      *Store
	ctx    context.Context
	key    string
	buf    []byte
	seq    int64
	size   int64
	done   bool
	failed error
}

func (w *pgWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("blob write after commit or abort")
	}
	if w.failed != nil {
		return 0, w.failed
	}
	n := 0
	for len(p) > 0 {
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p, n = p[c:], n+c
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(w.ctx); err != nil {
				w.failed = err
				return n, err
			}
		}
	}
	return n, nil
}

func (w *pgWriter) flush(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.s.read().Exec(ctx, `INSERT INTO blob_chunks (key, seq, data) VALUES (?, ?, ?)`, w.key, w.seq, w.buf)
	if err != nil {
		return fmt.Errorf("write blob chunk: %w", err)
	}
	w.size += int64(len(w.buf))
	w.seq++
	w.buf = w.buf[:0]
	return nil
}

func (w *pgWriter) Commit(ctx context.Context) (string, error) {
	if w.done {
		return "", errors.New("blob already committed or aborted")
	}
	if w.failed != nil {
		w.Abort()
		return "", w.failed
	}
	// The last chunk and the blobs row commit together: a blob of one
	// chunk costs one transaction.
	err := w.s.write(ctx, func(tx *Tx) error {
		if len(w.buf) > 0 {
			_, err := tx.Exec(ctx, `INSERT INTO blob_chunks (key, seq, data) VALUES (?, ?, ?)`, w.key, w.seq, w.buf)
			if err != nil {
				return fmt.Errorf("write blob chunk: %w", err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO blobs (key, size, chunk_size, created_at) VALUES (?, ?, ?, ?)`,
			w.key, w.size+int64(len(w.buf)), pgChunk, ms(now()))
		return err
	})
	if err != nil {
		w.Abort()
		return "", fmt.Errorf("commit blob: %w", err)
	}
	w.done = true
	w.buf = nil
	return w.key, nil
}

func (w *pgWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.buf = nil
	if w.seq == 0 {
		return nil
	}
	// The writer's ctx may be the one that ended; the cleanup must still run.
	ctx := context.WithoutCancel(w.ctx)
	if _, err := w.s.read().Exec(ctx, `DELETE FROM blob_chunks WHERE key = ?`, w.key); err != nil {
		return fmt.Errorf("abort blob: %w", err)
	}
	return nil
}
