package outbound

import (
	"errors"
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTTLCache[int, string](time.Minute, func() time.Time { return now })
	loads := 0
	load := func(v string, err error) func() (string, error) {
		return func() (string, error) { loads++; return v, err }
	}
	steps := []struct {
		advance time.Duration
		load    func() (string, error)
		want    string
		wantErr bool
		loads   int
	}{
		{0, load("", errors.New("db down")), "", true, 1}, // errors are not cached
		{0, load("a", nil), "a", false, 2},
		{59 * time.Second, load("b", nil), "a", false, 2}, // cached
		{time.Second, load("c", nil), "c", false, 3},      // expired
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		got, err := c.get(1, s.load)
		if got != s.want || (err != nil) != s.wantErr || loads != s.loads {
			t.Errorf("step %d: get = %q, %v after %d loads; want %q (error %v) after %d", i, got, err, loads, s.want, s.wantErr, s.loads)
		}
	}
	off := newTTLCache[int, string](0, func() time.Time { return now })
	loads = 0
	off.get(1, load("a", nil))
	off.get(1, load("a", nil))
	if loads != 2 {
		t.Errorf("caching off: %d loads, want 2", loads)
	}
}
