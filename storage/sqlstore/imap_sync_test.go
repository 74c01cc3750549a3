package sqlstore

import (
	"context"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestSyncSeesModseqPastItsRead: a message whose modseq moved past the
// counter IMAPSync read (another transaction committed between its two
// reads: an outbound delivery status, say) still gets its UID in that
// sync, so that APPEND to Sent can look it up right after. The race is
// played here by setting the message's modseq past the counter.
func TestSyncSeesModseqPastItsRead(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		s := OpenTest(t, driver)
		f := storagetest.NewFixture(t, s, "a")
		sent, err := s.IMAPEnsureMailbox(ctx, f.Company.ID, storage.IMAPMailbox{Name: "Sent", Filter: storage.FilterSent})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.IMAPSync(ctx, f.Company.ID, sent.ID); err != nil {
			t.Fatal(err)
		}
		in, _, err := s.Deliver(ctx, storage.Delivery{NewThread: storage.Thread{TeamID: f.Acme.ID},
			Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID}})
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := s.Deliver(ctx, storage.Delivery{ThreadID: in.ThreadID,
			Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Manager.ID, MessageID: "out-1@a.example"}})
		if err != nil {
			t.Fatal(err)
		}
		cur, err := s.IMAPModseq(ctx, f.Company.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = s.write(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, `UPDATE message_flags SET modseq = ? WHERE message_id = ?`, cur+5, out.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.IMAPSync(ctx, f.Company.ID, sent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.IMAPUIDOf(ctx, f.Company.ID, sent.ID, out.ID); err != nil {
			t.Fatalf("after the sync, the sent message has no UID in Sent: %v", err)
		}
	})
}
