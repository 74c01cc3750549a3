package mimewalk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// fileBlobs is a small file-backed storage.BlobStore for these tests until
// storage/sqlstore's OpenTest is available. It checks that every blob a
// walk created was either committed or aborted.
type fileBlobs struct {
	dir        string
	mu         sync.Mutex
	seq        int
	open       map[int]bool // writers neither committed nor aborted
	failAt     int          // fail the failAt-th Create (1-based); 0: never
	failCommit int          // fail the Commit of blob number failCommit; 0: never
	creates    int
}

func newFileBlobs(t testing.TB) *fileBlobs {
	t.Helper()
	b := &fileBlobs{dir: t.TempDir(), open: map[int]bool{}}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.open) > 0 {
			t.Errorf("leaked %d blob writers", len(b.open))
		}
		tmp, _ := filepath.Glob(filepath.Join(b.dir, "*.tmp"))
		if len(tmp) > 0 {
			t.Errorf("half-written blobs left: %v", tmp)
		}
	})
	return b
}

func (b *fileBlobs) committed() int {
	m, _ := filepath.Glob(filepath.Join(b.dir, "blob-*"))
	n := 0
	for _, f := range m {
		if filepath.Ext(f) != ".tmp" {
			n++
		}
	}
	return n
}

func (b *fileBlobs) Create(ctx context.Context) (storage.BlobWriter, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.creates++
	if b.failAt > 0 && b.creates == b.failAt {
		return nil, errors.New("disk full (test)")
	}
	b.seq++
	name := filepath.Join(b.dir, fmt.Sprintf("blob-%d", b.seq))
	f, err := os.Create(name + ".tmp")
	if err != nil {
		return nil, err
	}
	b.open[b.seq] = true
	return &fileWriter{b: b, id: b.seq, f: f, name: name}, nil
}

func (b *fileBlobs) Open(ctx context.Context, key string) (storage.Blob, error) {
	f, err := os.Open(filepath.Join(b.dir, key))
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileBlob{File: f, size: st.Size()}, nil
}

func (b *fileBlobs) Delete(ctx context.Context, key string) error {
	return os.Remove(filepath.Join(b.dir, key))
}

func (b *fileBlobs) read(t testing.TB, key string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dir, key))
	if err != nil {
		t.Fatalf("read blob %q: %v", key, err)
	}
	return data
}

type fileBlob struct {
	*os.File
	size int64
}

func (f *fileBlob) Size() int64 { return f.size }

type fileWriter struct {
	b    *fileBlobs
	id   int
	f    *os.File
	name string
	done bool
}

func (w *fileWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *fileWriter) Commit(ctx context.Context) (string, error) {
	if w.b.failCommit == w.id {
		return "", errors.New("fsync failed (test)")
	}
	if err := w.f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(w.name+".tmp", w.name); err != nil {
		return "", err
	}
	w.finish()
	return filepath.Base(w.name), nil
}

func (w *fileWriter) Abort() error {
	if w.done {
		return nil
	}
	w.f.Close()
	w.finish()
	return os.Remove(w.name + ".tmp")
}

func (w *fileWriter) finish() {
	w.done = true
	w.b.mu.Lock()
	delete(w.b.open, w.id)
	w.b.mu.Unlock()
}

var _ storage.BlobStore = (*fileBlobs)(nil)

// drainCheck is a reader that reports whether it was read to EOF.
type drainCheck struct {
	r   io.Reader
	eof bool
}

func (d *drainCheck) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == io.EOF {
		d.eof = true
	}
	return n, err
}
