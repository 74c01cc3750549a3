package imapd

import (
	"bytes"
	"fmt"
	"testing"
)

func TestBlobCache(t *testing.T) {
	const max = 64 << 10
	c := newBlobCache(max)
	blob := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000) }
	key := func(i int) string { return fmt.Sprintf("%032x", i) }
	held := func() int {
		n := 0
		for _, m := range []map[string]gen[[]byte]{c.g.cur, c.g.old} {
			for k, e := range m {
				n += len(k) + len(e.v) + blobOverhead
			}
		}
		return n
	}
	c.put(key(0), blob(0))
	for i := 1; i < 500; i++ {
		c.put(key(i), blob(i))
		if !bytes.Equal(c.get(key(0)), blob(0)) {
			t.Fatalf("after %d more blobs, a blob used at every turn is gone", i)
		}
		if n := held(); n > max {
			t.Fatalf("after %d blobs: %d bytes held, over the bound of %d", i+1, n, max)
		}
	}
	if c.get(key(1)) != nil {
		t.Error("a blob never used again outlived two generations")
	}
	if d := c.get(key(499)); !bytes.Equal(d, blob(499)) {
		t.Errorf("the last blob put: %q", d)
	}
	if c.put(key(1000), make([]byte, max/16)); c.get(key(1000)) != nil {
		t.Error("a blob over max/16 was kept")
	}
	var off *blobCache // turned off
	if off.put(key(1), blob(1)); off.get(key(1)) != nil || newBlobCache(-1) != nil {
		t.Error("a turned-off cache holds blobs")
	}
}
