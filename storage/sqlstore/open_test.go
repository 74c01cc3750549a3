package sqlstore

import (
	"context"
	"testing"
)

func TestOpenTest(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		s := OpenTest(t, driver)
		var n int
		if err := s.read().QueryRow(context.Background(), `SELECT count(*) FROM companies WHERE id > ?`, 0).Scan(&n); err != nil {
			t.Fatalf("query: %v", err)
		}
		if n != 0 {
			t.Fatalf("fresh store has %d companies, want 0", n)
		}
	})
}

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"a = '?' AND b = ?", "a = '?' AND b = $1"},
		{`"x?" = ?`, `"x?" = $1`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
