package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// Prefixes of the keys of the file blob store.
const (
	filePrefix  = "f"
	smallPrefix = "s"
)

// fileBlobs keeps blobs as files under dir (fanned out by the first two
// hex digits of the key), or, up to Config.InlineBlobMax, in the
// small_blobs table: a small blob then commits in the group-committed
// transaction shared with other writers instead of costing a file fsync
// and a directory fsync of its own.
// A file is written under dir/tmp, fsynced, renamed into place and its
// directory fsynced before Commit returns.
type fileBlobs struct {
	s   *Store
	dir string
}

var _ storage.BlobStore = (*fileBlobs)(nil)

func newFileBlobs(s *Store, dir string) (*fileBlobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob folder: %w", err)
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("%02x", i)), 0o750); err != nil {
			return nil, fmt.Errorf("blob folder: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return &fileBlobs{s: s, dir: dir}, nil
}

func (b *fileBlobs) path(key string) string {
	return filepath.Join(b.dir, key[:2], key)
}

// split checks a key and returns its kind and random part.
func splitKey(key string) (prefix, rest string, ok bool) {
	if len(key) < 1 {
		return "", "", false
	}
	prefix, rest = key[:1], key[1:]
	return prefix, rest, (prefix == filePrefix || prefix == smallPrefix) && validKey(rest)
}

func (b *fileBlobs) Create(ctx context.Context) (storage.BlobWriter, error) {
	return &fileWriter{b: b, ctx: ctx}, nil
}

func (b *fileBlobs) Open(ctx context.Context, key string) (storage.Blob, error) {
	prefix, rest, ok := splitKey(key)
	if !ok {
		return nil, badKey(key)
	}
	if prefix == smallPrefix {
		var d []byte
		err := b.s.read().QueryRow(ctx, `SELECT data FROM small_blobs WHERE key = ?`, rest).Scan(&d)
		if err != nil {
			return nil, notFound(err, "open blob "+key)
		}
		return memBlob{bytes.NewReader(d)}, nil
	}
	f, err := os.Open(b.path(rest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, badKey(key)
	} else if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob: %w", err)
	}
	return &fileBlob{File: f, size: fi.Size()}, nil
}

func (b *fileBlobs) Delete(ctx context.Context, key string) error {
	prefix, rest, ok := splitKey(key)
	if !ok {
		return badKey(key)
	}
	if prefix == smallPrefix {
		return b.s.write(ctx, func(tx *Tx) error {
			res, err := tx.Exec(ctx, `DELETE FROM small_blobs WHERE key = ?`, rest)
			if err != nil {
				return fmt.Errorf("delete blob: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return badKey(key)
			}
			return nil
		})
	}
	if err := os.Remove(b.path(rest)); errors.Is(err, os.ErrNotExist) {
		return badKey(key)
	} else if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// fileBlob is a committed blob file.
type fileBlob struct {
	*os.File
	size int64
}

func (f *fileBlob) Size() int64 { return f.size }

// Writeback of a large blob file starts every writebackEvery bytes, in
// ranges ending on a writebackAlign boundary, so that the disk writes
// while the message is still arriving and the fsync at Commit finds
// little left to flush.
const (
	writebackEvery = 4 << 20
	writebackAlign = 1 << 20
)

// fileWriter buffers up to Config.InlineBlobMax bytes in memory and spills to a
// temporary file beyond that.
type fileWriter struct {
	b    *fileBlobs
	ctx  context.Context
	buf  []byte
	f    *os.File // nil while the blob is small
	done bool
	// off is the file's size; writeback was started up to queued, or
	// never is again when noWB (the kernel or file system refused).
	off, queued int64
	noWB        bool
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("blob write after commit or abort")
	}
	if w.f == nil {
		if len(w.buf)+len(p) <= w.b.s.cfg.InlineBlobMax {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		f, err := os.CreateTemp(filepath.Join(w.b.dir, "tmp"), "blob-")
		if err != nil {
			return 0, fmt.Errorf("blob temp file: %w", err)
		}
		w.f = f
		n, err := f.Write(w.buf)
		w.off += int64(n)
		if err != nil {
			return 0, fmt.Errorf("write blob: %w", err)
		}
		w.buf = nil
	}
	n, err := w.f.Write(p)
	w.off += int64(n)
	if err != nil {
		return n, fmt.Errorf("write blob: %w", err)
	}
	w.writeback()
	return n, nil
}

// writeback starts writing the file's full megabytes to disk once enough
// have accumulated. It is advisory: a refusal only turns it off.
func (w *fileWriter) writeback() {
	if w.noWB || w.off-w.queued < writebackEvery {
		return
	}
	end := w.off &^ (writebackAlign - 1)
	if err := startWriteback(w.f, w.queued, end-w.queued); err != nil {
		w.noWB = true
		return
	}
	w.queued = end
}

func (w *fileWriter) Commit(ctx context.Context) (string, error) {
	if w.done {
		return "", errors.New("blob already committed or aborted")
	}
	key := newKey()
	if w.f == nil {
		data := w.buf
		if data == nil {
			data = []byte{}
		}
		err := w.b.s.write(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO small_blobs (key, data, created_at) VALUES (?, ?, ?)`, key, data, ms(now()))
			return err
		})
		w.done, w.buf = true, nil
		if err != nil {
			return "", fmt.Errorf("commit blob: %w", err)
		}
		return smallPrefix + key, nil
	}
	if err := w.f.Sync(); err != nil {
		w.Abort()
		return "", fmt.Errorf("commit blob: fsync: %w", err)
	}
	if err := w.f.Close(); err != nil {
		w.Abort()
		return "", fmt.Errorf("commit blob: %w", err)
	}
	if err := os.Rename(w.f.Name(), w.b.path(key)); err != nil {
		w.Abort()
		return "", fmt.Errorf("commit blob: %w", err)
	}
	w.done = true
	if err := syncDir(filepath.Dir(w.b.path(key))); err != nil {
		os.Remove(w.b.path(key))
		return "", err
	}
	return filePrefix + key, nil
}

func (w *fileWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done, w.buf = true, nil
	if w.f == nil {
		return nil
	}
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("abort blob: %w", err)
	}
	return nil
}

// syncDir makes the entries of a directory durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
