package sqlstore

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/partnermail/partnermail/storage"
)

// newKey returns a random blob key of 32 lower-case hex digits.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// validKey reports whether k looks like a key newKey made (after an
// optional one-letter prefix), so that no key can name a path.
func validKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func badKey(key string) error {
	return fmt.Errorf("blob %q: %w", key, storage.ErrNotFound)
}

// memBlob is a small blob read whole from the database.
type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

var _ storage.Blob = memBlob{}

// chunkBlob reads a blob stored as fixed-size chunks, fetching one chunk
// at a time; it keeps only the last chunk it fetched.
type chunkBlob struct {
	size  int64
	chunk int64
	fetch func(seq int64) ([]byte, error)

	mu   sync.Mutex
	off  int64
	seq  int64
	data []byte // chunk seq, or nil
}

func (b *chunkBlob) Size() int64 { return b.size }

func (b *chunkBlob) Close() error {
	b.mu.Lock()
	b.data = nil
	b.mu.Unlock()
	return nil
}

func (b *chunkBlob) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.readAt(p, b.off)
	b.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (b *chunkBlob) Seek(offset int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += b.size
	default:
		return 0, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	b.off = offset
	return offset, nil
}

func (b *chunkBlob) ReadAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.readAt(p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// readAt fills p from off, crossing chunks; it returns io.EOF only when
// off is at or past the end.
func (b *chunkBlob) readAt(p []byte, off int64) (int, error) {
	if off >= b.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < b.size {
		seq := off / b.chunk
		if b.data == nil || b.seq != seq {
			d, err := b.fetch(seq)
			if err != nil {
				return n, err
			}
			b.seq, b.data = seq, d
		}
		in := off - seq*b.chunk
		if in >= int64(len(b.data)) {
			return n, fmt.Errorf("blob chunk %d is short", seq)
		}
		c := copy(p[n:], b.data[in:])
		n += c
		off += int64(c)
	}
	return n, nil
}
