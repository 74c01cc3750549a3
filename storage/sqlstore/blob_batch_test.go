package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// TestBlobReadSmall reads many small blobs at once: each comes back whole
// and identical; a big blob and unknown keys are left to Open.
func TestBlobReadSmall(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		s := OpenTest(t, driver)
		ctx := context.Background()
		put := func(data []byte) string {
			t.Helper()
			w, err := s.Blobs().Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			key, err := w.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return key
		}
		want := map[string][]byte{}
		var keys []string
		for i := 0; i < 300; i++ { // batches of 64 (SQLite) and 256 (PostgreSQL), the last one short
			d := []byte(fmt.Sprintf("message %d\r\n%s", i, bytes.Repeat([]byte{'x'}, i)))
			k := put(d)
			want[k] = d
			keys = append(keys, k)
		}
		big := put(bytes.Repeat([]byte("0123456789abcdef"), 40<<10)) // 640 KB: a file, or several chunks
		keys = append(keys, big, keys[0], "s0123", "nonsense")
		got, err := s.Blobs().(interface {
			ReadSmall(context.Context, []string) (map[string][]byte, error)
		}).ReadSmall(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("ReadSmall returned %d blobs, want %d", len(got), len(want))
		}
		for k, d := range want {
			if !bytes.Equal(got[k], d) {
				t.Errorf("blob %s: got %q, want %q", k, got[k], d)
			}
		}
		if _, ok := got[big]; ok {
			t.Errorf("ReadSmall returned the big blob")
		}
	})
}
