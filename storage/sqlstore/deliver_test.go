package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestCampaignThread covers the campaign find-or-create of Deliver with a
// campaign row written directly (CreateCampaign belongs to the queue).
func TestCampaignThread(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		s := OpenTest(t, driver)
		ctx := context.Background()
		f := storagetest.NewFixture(t, s, "a")
		var campaign int64
		err := s.write(ctx, func(tx *Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO campaigns (company_id, staff_id, subject, body, created_at)
				VALUES (?, ?, 'News', 'b', 0) RETURNING id`, f.Company.ID, f.Admin.ID).Scan(&campaign)
		})
		if err != nil {
			t.Fatal(err)
		}
		reply := func(m storage.Member, team storage.Team, id string) storage.Delivery {
			return storage.Delivery{
				NewThread: storage.Thread{TeamID: team.ID, MemberID: m.ID, CampaignID: campaign, Subject: "Re: News"},
				Message:   storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: m.ID, MessageID: id},
			}
		}
		var wg sync.WaitGroup
		threads := make([]int64, 16)
		for i := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, f2 := f.Ann, f.Acme
				if i%2 == 1 {
					m, f2 = f.Sue, f.Solo
				}
				msg, created, err := s.Deliver(ctx, reply(m, f2, fmt.Sprintf("r%d@x", i)))
				if err != nil || !created {
					t.Errorf("campaign reply %d: created=%v, %v", i, created, err)
				}
				threads[i] = msg.ThreadID
			}()
		}
		wg.Wait()
		for i, th := range threads {
			if th != threads[i%2] {
				t.Fatalf("campaign replies went to threads %v; want one per member", threads)
			}
		}
		if threads[0] == threads[1] {
			t.Fatalf("two members share campaign thread %d", threads[0])
		}
		th, err := s.Thread(ctx, f.Company.ID, threads[0])
		if err != nil || th.CampaignID != campaign || th.MemberID != f.Ann.ID {
			t.Errorf("campaign thread = %+v, %v", th, err)
		}
		// Another company's campaign is unknown here.
		g := storagetest.NewFixture(t, s, "b")
		d := reply(g.Ann, g.Acme, "x@x")
		d.Message.CompanyID = g.Company.ID
		if _, _, err := s.Deliver(ctx, d); err == nil {
			t.Errorf("Deliver with company a's campaign into company b succeeded")
		}
	})
}

// TestModseq checks that inserts, answered marking and team updates move
// the company's modseq forward on the messages concerned.
func TestModseq(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		s := OpenTest(t, driver)
		ctx := context.Background()
		f := storagetest.NewFixture(t, s, "a")
		modseq := func(id int64) int64 {
			var v int64
			if err := s.read().QueryRow(ctx, `SELECT modseq FROM message_flags WHERE message_id = ?`, id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		in := storage.Delivery{NewThread: storage.Thread{TeamID: f.Acme.ID},
			Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID}}
		m1, _, err := s.Deliver(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := s.Deliver(ctx, storage.Delivery{NewThread: storage.Thread{TeamID: f.Solo.ID},
			Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Sue.ID}})
		if err != nil {
			t.Fatal(err)
		}
		v1, vo := modseq(m1.ID), modseq(other.ID)
		if v1 == 0 || vo <= v1 {
			t.Fatalf("modseq of two inserts = %d, %d; want increasing", v1, vo)
		}
		out, _, err := s.Deliver(ctx, storage.Delivery{ThreadID: m1.ThreadID,
			Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Admin.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if v := modseq(m1.ID); v <= vo || v != modseq(out.ID) {
			t.Errorf("modseq after answered = %d (reply %d), want > %d", v, modseq(out.ID), vo)
		}
		before := modseq(m1.ID)
		declined := storage.StatusDeclined
		if _, err := s.UpdateTeam(ctx, f.Company.ID, f.Acme.ID, storage.TeamUpdate{Status: &declined}); err != nil {
			t.Fatal(err)
		}
		if v := modseq(m1.ID); v <= before {
			t.Errorf("modseq after UpdateTeam = %d, want > %d", v, before)
		}
		if v := modseq(other.ID); v != vo {
			t.Errorf("UpdateTeam of Acme changed Solo's message modseq %d → %d", vo, v)
		}
	})
}
