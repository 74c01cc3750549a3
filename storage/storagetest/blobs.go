package storagetest

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// RunBlobs tests the blob store: round trips of several sizes, random
// access, abort and delete.
func RunBlobs(t *testing.T, open Opener) {
	t.Parallel()
	st := open(t)
	bs := st.Blobs()
	ctx := context.Background()
	for _, size := range []int{0, 1, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1, 256 << 10, 1<<20 + 12345} {
		data := make([]byte, size)
		r := rand.New(rand.NewPCG(uint64(size), 1))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		key := writeBlob(t, bs, data, 1000)
		b, err := bs.Open(ctx, key)
		if err != nil {
			t.Fatalf("Open(%d bytes): %v", size, err)
		}
		if b.Size() != int64(size) {
			t.Errorf("Size = %d, want %d", b.Size(), size)
		}
		got, err := io.ReadAll(b)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("ReadAll(%d-byte blob) = %d bytes, %v; want the bytes written", size, len(got), err)
		}
		if size > 10 {
			for _, off := range []int64{0, 1, int64(size) / 2, int64(size) - 7} {
				p := make([]byte, 7)
				n, err := b.ReadAt(p, off)
				end := min(off+7, int64(size))
				if n != int(end-off) || !bytes.Equal(p[:n], data[off:end]) || (n == 7) != (err == nil) {
					t.Errorf("ReadAt(%d) of %d bytes = %d, %v", off, size, n, err)
				}
			}
			if _, err := b.Seek(int64(size)-5, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(b)
			if err != nil || !bytes.Equal(rest, data[size-5:]) {
				t.Errorf("read after Seek = %q, %v", rest, err)
			}
		}
		must(t, b.Close())
	}

	// Abort leaves nothing; Abort after Commit is harmless.
	w, err := bs.Create(ctx)
	must(t, err)
	w.Write(bytes.Repeat([]byte("x"), 300<<10))
	must(t, w.Abort())
	if _, err := w.Commit(ctx); err == nil {
		t.Errorf("Commit after Abort succeeded")
	}
	key := writeBlob(t, bs, []byte("hello"), 2)
	must(t, bs.Delete(ctx, key))
	_, err = bs.Open(ctx, key)
	wantErr(t, "Open(deleted)", err, storage.ErrNotFound)
	wantErr(t, "Delete(deleted)", bs.Delete(ctx, key), storage.ErrNotFound)
	for _, bad := range []string{"", "nope", "../../etc/passwd", "f../../../../etc/passwd"} {
		_, err = bs.Open(ctx, bad)
		wantErr(t, "Open("+bad+")", err, storage.ErrNotFound)
	}
}

// writeBlob writes data in pieces of at most step bytes and commits it.
func writeBlob(t *testing.T, bs storage.BlobStore, data []byte, step int) string {
	t.Helper()
	ctx := context.Background()
	w, err := bs.Create(ctx)
	must(t, err)
	for p := data; len(p) > 0; {
		n := min(step, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatalf("blob Write: %v", err)
		}
		p = p[n:]
	}
	key, err := w.Commit(ctx)
	if err != nil || key == "" {
		t.Fatalf("blob Commit = %q, %v", key, err)
	}
	must(t, w.Abort())
	return key
}
