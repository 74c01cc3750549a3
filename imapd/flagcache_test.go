package imapd

import (
	"testing"
	"time"
)

// TestFlagCacheEvicts: an entry nobody used for flagIdle is dropped at the
// next sweep (its mailbox starts over from the database), one in use is
// kept.
func TestFlagCacheEvicts(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c := &flagCache{now: func() time.Time { return now }}
	idle := c.entry(1)
	idle.codes = []byte{0, codeKnown | codeSeen}
	now = now.Add(flagIdle / 2)
	busy := c.entry(2)
	now = now.Add(flagIdle/2 - time.Second) // 1 last used flagIdle-1s ago
	if c.entry(2) != busy || c.m[1] != idle {
		t.Fatalf("entries dropped early: %d left", len(c.m))
	}
	now = now.Add(flagIdle / 10) // sweeps are flagIdle/10 apart
	c.entry(2)
	if len(c.m) != 1 || c.m[2] != busy {
		t.Fatalf("after flagIdle unused, entries %v, want only mailbox 2", c.m)
	}
	if e := c.entry(1); e == idle || e.codes != nil {
		t.Fatal("entry 1 came back with its old codes")
	}
}
