package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// normEmail lower-cases and checks an email address (local@domain, no
// spaces, no display name).
func normEmail(e string) (string, error) {
	e = strings.ToLower(strings.TrimSpace(e))
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.Count(e, "@") != 1 ||
		strings.ContainsAny(e, " \t\r\n<>,;:\"()[]\\") || !strings.Contains(e[at+1:], ".") && e[at+1:] != "localhost" {
		return "", fmt.Errorf("bad email address %q: %w", e, storage.ErrInvalid)
	}
	return e, nil
}

// affected turns an update that changed no row into storage.ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	return nil
}

// Slug derives a team's address slug from its name: lower case, each run
// of characters other than a-z and 0-9 becomes one '-', no '-' at either
// end; "team" when nothing is left.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := b.String()
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		return "team"
	}
	return s
}

// validStatus reports whether st is an application status.
func validStatus(st string) bool {
	return st == storage.StatusApproved || st == storage.StatusPending || st == storage.StatusDeclined
}

// isNoRows reports whether a QueryRow found nothing.
func isNoRows(err error) bool { return err == sql.ErrNoRows }
