package smtpd

import (
	"context"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/threading"
)

// A notification the relay accepted but the partner's server bounced later
// (a DSN to its bounce+ address) turns the staff message's Sent keyword to
// $Bounced: a failed delivery is never silent.
func TestSubmissionLateBounce(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		ctx := context.Background()
		now := time.Now()
		m, _, err := e.store.Deliver(ctx, storage.Delivery{
			NewThread: storage.Thread{CompanyID: e.f.Company.ID, TeamID: e.f.Acme.ID, Subject: "News"},
			Message: storage.Message{CompanyID: e.f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: e.f.Manager.ID,
				MessageID: "news-1@acme.example", Subject: "News", RawKey: "raw-news", Seen: true},
			Outbound: []storage.OutboundEmail{{CompanyID: e.f.Company.ID, MemberID: e.f.Ann.ID, Rcpt: e.f.Ann.Email,
				MessageID: "n-1@acme.example", ExpiresAt: now.Add(time.Hour)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := e.store.ClaimDue(ctx, now.Add(time.Minute), now.Add(2*time.Minute), 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimDue = %v, %v", claimed, err)
		}
		if err := e.store.FinishAttempt(ctx, claimed[0].ID, storage.QueueSent, time.Time{}, ""); err != nil {
			t.Fatal(err)
		}
		keyword := func() string {
			st, err := e.store.DeliveryStates(ctx, e.f.Company.ID, []int64{m.ID})
			if err != nil {
				t.Fatal(err)
			}
			return st[m.ID]
		}
		if k := keyword(); k != storage.KeywordDelivered {
			t.Fatalf("keyword after the relay's 250 = %q, want $Delivered", k)
		}
		wake, stop := e.hub.Subscribe("mail", e.f.Company.ID)
		defer stop()
		to := e.address(threading.Token{Kind: threading.KindBounce, EmailID: claimed[0].ID, MemberID: e.f.Ann.ID})
		if err := e.send("", []string{to}, dsn(to, e.f.Ann.Email, "failed", "5.1.1", "550 5.1.1 user unknown")); err != nil {
			t.Fatalf("DSN: %v", err)
		}
		if k := keyword(); k != storage.KeywordBounced {
			t.Errorf("keyword after a hard DSN = %q, want $Bounced", k)
		}
		select {
		case <-wake:
		default:
			t.Errorf("IMAP sessions were not woken")
		}
	})
}
