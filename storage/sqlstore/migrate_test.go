package sqlstore

import (
	"context"
	"io/fs"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestMigrateMessageFlags: 00007 moves the flags and modseq of stored
// messages into message_flags and back (Down), losing none.
func TestMigrateMessageFlags(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		s := OpenTest(t, driver)
		f := storagetest.NewFixture(t, s, "a")
		deliver := func(m storage.Message) storage.Message {
			m.CompanyID, m.Direction, m.AuthorMemberID = f.Company.ID, storage.DirectionIn, f.Ann.ID
			got, _, err := s.Deliver(ctx, storage.Delivery{NewThread: storage.Thread{TeamID: f.Acme.ID}, Message: m})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		want := []storage.Message{deliver(storage.Message{Seen: true, Flagged: true}), deliver(storage.Message{Answered: true}), deliver(storage.Message{})}
		type row struct {
			seen, answered, flagged bool
			modseq                  int64
		}
		read := func(q string) []row {
			var out []row
			for _, m := range want {
				var r row
				if err := s.read().QueryRow(ctx, q, m.ID).Scan(&r.seen, &r.answered, &r.flagged, &r.modseq); err != nil {
					t.Fatal(err)
				}
				out = append(out, r)
			}
			return out
		}
		before := read(`SELECT seen, answered, flagged, modseq FROM message_flags WHERE message_id = ?`)
		for i, m := range want {
			if r := before[i]; r.seen != m.Seen || r.answered != m.Answered || r.flagged != m.Flagged || r.modseq == 0 {
				t.Fatalf("message %d: stored %+v, delivered %+v", i, r, m)
			}
		}

		dir, dialect := "migrations/sqlite", goose.DialectSQLite3
		if s.pg {
			dir, dialect = "migrations/postgres", goose.DialectPostgres
		}
		sub, err := fs.Sub(migrations, dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := goose.NewProvider(dialect, s.w, sub, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 6); err != nil {
			t.Fatalf("down to 6: %v", err)
		}
		if down := read(`SELECT seen, answered, flagged, modseq FROM messages WHERE id = ?`); !slices.Equal(down, before) {
			t.Fatalf("after Down, messages hold %+v, want %+v", down, before)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		if up := read(`SELECT seen, answered, flagged, modseq FROM message_flags WHERE message_id = ?`); !slices.Equal(up, before) {
			t.Fatalf("after Up again, message_flags hold %+v, want %+v", up, before)
		}
		if got, err := s.Message(ctx, f.Company.ID, want[0].ID); err != nil || !got.Seen || !got.Flagged || got.Answered {
			t.Fatalf("Message after Up = %+v, %v", got, err)
		}
	})
}
