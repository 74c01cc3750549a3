package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestFinishAttempts records a worker's batch of outcomes in one commit:
// sent emails in one statement, the others one by one, all or nothing.
func TestFinishAttempts(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		st := OpenTest(t, driver)
		f := storagetest.NewFixture(t, st, "a")
		emails := make([]storage.OutboundEmail, 5)
		for i := range emails {
			emails[i] = storage.OutboundEmail{MemberID: f.Ann.ID, Rcpt: fmt.Sprintf("p%d@x.example", i)}
		}
		if _, err := st.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID}, emails); err != nil {
			t.Fatal(err)
		}
		later := now().Add(time.Hour)
		batch := []storage.OutboundEmail{
			{ID: emails[0].ID, State: storage.QueueSent},
			{ID: emails[1].ID, State: storage.QueueQueued, NextAttemptAt: later, LastError: "451 busy"},
			{ID: emails[2].ID, State: storage.QueueSent},
			{ID: emails[3].ID, State: storage.QueueFailed, LastError: "550 no"},
		}
		// One unknown id fails the whole batch.
		bad := append(append([]storage.OutboundEmail{}, batch...), storage.OutboundEmail{ID: emails[4].ID + 100, State: storage.QueueSent})
		if err := st.FinishAttempts(ctx, bad); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("FinishAttempts with an unknown id = %v, want ErrNotFound", err)
		}
		if e, _ := st.OutboundEmail(ctx, emails[0].ID); e.State != storage.QueueQueued {
			t.Fatalf("a failed batch changed email %d to %s", e.ID, e.State)
		}
		if err := st.FinishAttempts(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{storage.QueueSent, storage.QueueQueued, storage.QueueSent, storage.QueueFailed, storage.QueueQueued} {
			e, err := st.OutboundEmail(ctx, emails[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.State != want {
				t.Errorf("email %d: %s, want %s", i, e.State, want)
			}
		}
		if e, _ := st.OutboundEmail(ctx, emails[1].ID); !e.NextAttemptAt.Equal(later) || e.LastError != "451 busy" {
			t.Errorf("deferred email: %+v", e)
		}
	})
}
