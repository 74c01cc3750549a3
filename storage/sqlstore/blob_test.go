package sqlstore

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/partnermail/partnermail/internal/testenv"
)

// patternReader yields n pseudo-random bytes without holding them.
type patternReader struct {
	r *rand.Rand
	n int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = byte(p.r.Uint32())
	}
	p.n -= int64(len(b))
	return len(b), nil
}

// TestBlobLarge streams a 50 MB blob in and out and checks that the heap
// never grows by anything near the blob's size. The drivers run one after
// the other, and growth is measured, not the heap: the heap is the
// process's, and the other driver's buffers plus the test binary's own
// heap read 40 MB under -race on a loaded machine (12-20 MB alone).
func TestBlobLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB blob in -short mode")
	}
	for _, driver := range Drivers() {
		t.Run(driver, func(t *testing.T) { blobLarge(t, driver) })
	}
}

func blobLarge(t *testing.T, driver string) {
	s := OpenTest(t, driver)
	ctx := context.Background()
	const size = 50 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	heap := testenv.SampleHeap()
	w, err := s.Blobs().Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := sha256.New()
	if _, err := io.CopyBuffer(w, io.TeeReader(&patternReader{rand.New(rand.NewPCG(1, 2)), size}, in), make([]byte, 32<<10)); err != nil {
		t.Fatal(err)
	}
	key, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Blobs().Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	out := sha256.New()
	n, err := io.CopyBuffer(out, b, make([]byte, 32<<10))
	b.Close()
	heap.Done()
	if err != nil || n != size || string(in.Sum(nil)) != string(out.Sum(nil)) {
		t.Fatalf("read back %d bytes, %v; want %d identical bytes", n, err, size)
	}
	growth := heap.Growth(before.HeapInuse)
	if growth > 16<<20 { // a third of the blob: anything holding it whole fails
		t.Errorf("heap grew by %d MB moving a 50 MB blob; want it bounded", growth>>20)
	}
	t.Logf("%s: heap growth %.1f MB for a 50 MB blob", driver, float64(growth)/(1<<20))
}

// TestBlobAbortLeavesNothing checks the storage itself after aborted
// writers: no file, no row, no chunk.
func TestBlobAbortLeavesNothing(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		s := OpenTest(t, driver)
		ctx := context.Background()
		for _, size := range []int{10, 70 << 10, 600 << 10} {
			w, err := s.Blobs().Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(make([]byte, size))
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
		}
		db := s.read()
		for _, table := range map[string][]string{SQLite: {"small_blobs"}, Postgres: {"blobs", "blob_chunks"}}[driver] {
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s holds %d rows after aborts, %v", table, n, err)
			}
		}
		if driver == SQLite {
			var files []string
			filepath.WalkDir(filepath.Join(s.cfg.DataDir, "blobs"), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, p)
				}
				return nil
			})
			if len(files) != 0 {
				t.Errorf("blob files after aborts: %q", files)
			}
		}
	})
}
