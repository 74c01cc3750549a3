package auth

import (
	"testing"
	"time"
)

func TestHashCheck(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(h, "correct horse battery"); err != nil {
		t.Errorf("Check(right) = %v, want nil", err)
	}
	if err := Check(h, "wrong"); err != ErrMismatch {
		t.Errorf("Check(wrong) = %v, want ErrMismatch", err)
	}
	if err := Check("", "anything"); err != ErrMismatch {
		t.Errorf("Check(unknown account) = %v, want ErrMismatch", err)
	}
	if _, err := Hash("short"); err == nil {
		t.Error("Hash(short) succeeded, want an error")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Limiter{Max: 3, Window: time.Minute, Now: func() time.Time { return now }}
	for i := 0; i < 3; i++ {
		if !l.Allow("a@x", "1.2.3.4") {
			t.Fatalf("attempt %d refused, want allowed", i)
		}
		l.Fail("a@x", "1.2.3.4")
	}
	if l.Allow("a@x", "5.6.7.8") {
		t.Error("4th attempt on the account allowed, want refused")
	}
	if !l.Allow("b@x", "1.2.3.4") {
		t.Error("other account from same IP refused before the IP limit")
	}
	now = now.Add(2 * time.Minute)
	if !l.Allow("a@x", "1.2.3.4") {
		t.Error("attempt after the window refused, want allowed")
	}
}
