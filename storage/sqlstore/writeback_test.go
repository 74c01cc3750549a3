package sqlstore

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestBlobWriteback writes a file blob in uneven pieces: writeback is
// queued in whole aligned megabytes behind the writes, and the committed
// blob is byte-exact.
func TestBlobWriteback(t *testing.T) {
	s := OpenTest(t, SQLite)
	ctx := context.Background()
	want := make([]byte, 9<<20+123)
	rand.NewChaCha8([32]byte{7}).Read(want)
	bw, err := s.Blobs().Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fw, ok := bw.(*fileWriter)
	if !ok {
		t.Skipf("blob writer is %T, not a file", bw)
	}
	for p := want; len(p) > 0; {
		n := min(len(p), 100_003)
		if _, err := fw.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
		if fw.queued%writebackAlign != 0 || fw.queued > fw.off {
			t.Fatalf("after %d bytes: writeback queued to %d", fw.off, fw.queued)
		}
	}
	if runtime.GOOS == "linux" && !fw.noWB && fw.queued < 8<<20 {
		t.Errorf("writeback queued to %d after %d bytes, want at least 8 MiB", fw.queued, fw.off)
	}
	key, err := fw.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Blobs().Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, %v; want the %d written", len(got), err, len(want))
	}
}
