package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// The delivery keyword of a staff message follows its notification
// emails: the most advanced state wins, and every FinishAttempt, retry or
// drop gives the message a new modseq so IMAP sessions notice.
func TestDeliveryStates(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		s := OpenTest(t, driver)
		f := storagetest.NewFixture(t, s, "acme")
		now := time.Now()
		post := func(subject string, rcpts ...storage.Member) storage.Message {
			d := storage.Delivery{
				NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Acme.ID, Subject: subject},
				Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Manager.ID,
					MessageID: subject + "@test", Subject: subject, RawKey: "raw-" + subject, Seen: true},
			}
			for _, m := range rcpts {
				d.Outbound = append(d.Outbound, storage.OutboundEmail{CompanyID: f.Company.ID, MemberID: m.ID, Rcpt: m.Email,
					MessageID: subject + "-" + m.Email, ExpiresAt: now.Add(time.Hour)})
			}
			m, _, err := s.Deliver(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		two := post("two", f.Ann, f.Bob)
		none := post("none")
		states := func() map[int64]string {
			t.Helper()
			st, err := s.DeliveryStates(ctx, f.Company.ID, []int64{two.ID, none.ID})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := st[none.ID]; ok {
				t.Errorf("message without emails has keyword %q", st[none.ID])
			}
			return st
		}
		if got := states()[two.ID]; got != storage.KeywordQueued {
			t.Fatalf("new message: %q, want $Queued", got)
		}
		emails, err := s.ClaimDue(ctx, now.Add(time.Minute), now.Add(2*time.Minute), 10)
		if err != nil || len(emails) != 2 {
			t.Fatalf("ClaimDue = %d emails, %v", len(emails), err)
		}
		if got := states()[two.ID]; got != storage.KeywordQueued {
			t.Fatalf("being sent: %q, want $Queued", got)
		}
		modseq := func() int64 {
			m, err := s.Message(ctx, f.Company.ID, two.ID)
			if err != nil {
				t.Fatal(err)
			}
			var v int64
			if err := s.read().QueryRow(ctx, `SELECT modseq FROM message_flags WHERE message_id = ?`, m.ID).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		finish := func(e storage.OutboundEmail, state, errText string) {
			t.Helper()
			before := modseq()
			if err := s.FinishAttempt(ctx, e.ID, state, now.Add(time.Hour), errText); err != nil {
				t.Fatal(err)
			}
			if after := modseq(); after <= before {
				t.Errorf("modseq %d → %d after a delivery change, want it to grow", before, after)
			}
		}
		finish(emails[0], storage.QueueQueued, "451 try later")
		if got := states()[two.ID]; got != storage.KeywordDeferred {
			t.Errorf("one deferred: %q, want $Deferred", got)
		}
		finish(emails[1], storage.QueueSent, "")
		if got := states()[two.ID]; got != storage.KeywordDelivered {
			t.Errorf("one deferred, one sent: %q, want $Delivered", got)
		}
		finish(emails[0], storage.QueueFailed, "550 no such user")
		if got := states()[two.ID]; got != storage.KeywordBounced {
			t.Errorf("one failed, one sent: %q, want $Bounced", got)
		}
		before := modseq()
		if err := s.RetryEmail(ctx, f.Company.ID, emails[0].ID); err != nil {
			t.Fatal(err)
		}
		if got := states()[two.ID]; got != storage.KeywordDelivered || modseq() <= before {
			t.Errorf("after a retry of the bounced email: %q, modseq %d → %d; want $Delivered and a new modseq", got, before, modseq())
		}
		// A late DSN for the delivered email: $Bounced; for another
		// company's id: nothing.
		before = modseq()
		if err := s.BounceEmail(ctx, f.Company.ID+1000, emails[1].ID, "550 late"); err != nil {
			t.Fatal(err)
		}
		if modseq() != before {
			t.Errorf("BounceEmail of another company changed the message")
		}
		if err := s.BounceEmail(ctx, f.Company.ID, emails[1].ID, "550 5.1.1 user unknown (DSN)"); err != nil {
			t.Fatal(err)
		}
		if got := states()[two.ID]; got != storage.KeywordBounced || modseq() <= before {
			t.Errorf("after a late bounce: %q, want $Bounced and a new modseq", got)
		}
		if e, _ := s.OutboundEmail(ctx, emails[1].ID); e.State != storage.QueueFailed || e.LastError != "550 5.1.1 user unknown (DSN)" {
			t.Errorf("bounced email = %+v, want failed with the DSN's detail", e)
		}
		// Another company sees nothing of it.
		if st, err := s.DeliveryStates(ctx, f.Company.ID+1000, []int64{two.ID}); err != nil || len(st) != 0 {
			t.Errorf("other company: %v, %v", st, err)
		}
	})
}
