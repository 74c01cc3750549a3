package sqlstore

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
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

// TestBlobLarge streams a 50 MB blob in and out and checks that the live
// heap never grows by anything near the blob's size.
func TestBlobLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB blob in -short mode")
	}
	EachDriver(t, func(t *testing.T, driver string) {
		s := OpenTest(t, driver)
		ctx := context.Background()
		const size = 50 << 20
		var peak uint64
		stop := watchHeap(&peak)
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
		stop()
		if err != nil || n != size || string(in.Sum(nil)) != string(out.Sum(nil)) {
			t.Fatalf("read back %d bytes, %v; want %d identical bytes", n, err, size)
		}
		if peak > 25<<20 { // half the blob: anything holding it whole fails
			t.Errorf("heap peaked at %d MB moving a 50 MB blob; want it bounded", peak>>20)
		}
		t.Logf("%s: live heap peak %.1f MB for a 50 MB blob", driver, float64(peak)/(1<<20))
	})
}

// watchHeap samples the live heap (as of the latest GC, so garbage not yet
// collected does not count) until the returned stop is called.
func watchHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(finished)
		for {
			metrics.Read(sample)
			*peak = max(*peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	runtime.GC()
	return func() { close(done); <-finished }
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
