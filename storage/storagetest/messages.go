package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// RunMessages tests threads and Deliver.
func RunMessages(t *testing.T, open Opener) {
	parallel(t, open, []namedTest{
		{"Deliver", testDeliver},
		{"Dedupe", testDedupe},
		{"ThreadByMessageID", testThreadByMessageID},
		{"Answered", testAnswered},
		{"Outbound", testDeliverOutbound},
		{"CampaignThread", testCampaignThread},
		{"Invalid", testDeliverInvalid},
		{"Concurrent", testDeliverConcurrent},
	})
}

func testDeliver(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	date := time.UnixMilli(time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.UTC).UnixMilli())
	d := storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Acme.ID, MemberID: f.Ann.ID, Subject: "Pricing"},
		Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID,
			MessageID: "<m1@acme.example>", InReplyTo: "prev@a.example", Subject: "Re: Pricing", FromAddr: "Ann <ann@acme-a.example>",
			Date: date, Size: 4096, RawKey: "rawkey", Text: "Hello ✓", AutoReply: true, Flagged: true, AuthResults: "mx; spf=pass",
			Attachments: []storage.Attachment{
				{Filename: "a.pdf", ContentType: "application/pdf", Size: 10, BlobKey: "k1"},
				{Filename: "b.png", ContentType: "image/png", Size: 20, BlobKey: "k2"},
			}},
	}
	m, created, err := st.Deliver(ctx, d)
	if err != nil || !created {
		t.Fatalf("Deliver = %v, %v; want created", created, err)
	}
	if m.ID == 0 || m.ThreadID == 0 || m.MessageID != "m1@acme.example" || m.Seen || m.Answered || m.CreatedAt.IsZero() ||
		len(m.Attachments) != 2 || m.Attachments[0].ID == 0 {
		t.Errorf("Deliver = %+v", m)
	}
	got, err := st.Message(ctx, f.Company.ID, m.ID)
	must(t, err)
	want := d.Message
	want.ID, want.ThreadID, want.MessageID, want.CreatedAt, want.Attachments = m.ID, m.ThreadID, "m1@acme.example", m.CreatedAt, m.Attachments
	if fmt.Sprint(got) != fmt.Sprint(want) || !got.Date.Equal(date) {
		t.Errorf("Message =\n%+v\nwant\n%+v", got, want)
	}
	th, err := st.Thread(ctx, f.Company.ID, m.ThreadID)
	if err != nil || th.TeamID != f.Acme.ID || th.MemberID != f.Ann.ID || th.CampaignID != 0 || th.Subject != "Pricing" || th.CreatedAt.IsZero() {
		t.Errorf("Thread = %+v, %v", th, err)
	}
	// A second message in the thread, and a whole-team thread.
	time.Sleep(2 * time.Millisecond)
	m2 := deliver(t, st, inbound(f, m.ThreadID, f.Acme, f.Ann, "m2@acme.example"))
	if m2.ThreadID != m.ThreadID {
		t.Errorf("Deliver into thread %d went to %d", m.ThreadID, m2.ThreadID)
	}
	m3 := deliver(t, st, inbound(f, 0, f.Solo, f.Sue, ""))
	list, err := st.ThreadMessages(ctx, f.Company.ID, m.ThreadID)
	if err != nil || len(list) != 2 || list[0].ID != m.ID || list[1].ID != m2.ID || len(list[0].Attachments) != 2 || list[0].Attachments[1].Filename != "b.png" {
		t.Errorf("ThreadMessages = %+v, %v", list, err)
	}
	ths, err := st.Threads(ctx, f.Company.ID)
	must(t, err)
	if len(ths) != 2 || ths[0].ID != m3.ThreadID || ths[1].ID != m.ThreadID || ths[0].MemberID != 0 {
		t.Errorf("Threads = %+v; want the Solo thread, then Acme's", ths)
	}
	th2, _ := st.Thread(ctx, f.Company.ID, m.ThreadID)
	if !th2.UpdatedAt.After(th.UpdatedAt) {
		t.Errorf("thread updated_at %v not after %v following a new message", th2.UpdatedAt, th.UpdatedAt)
	}
}

func testDedupe(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	m1 := deliver(t, st, inbound(f, 0, f.Acme, f.Ann, "dup@acme.example"))
	again, created, err := st.Deliver(ctx, inbound(f, m1.ThreadID, f.Acme, f.Ann, "<dup@acme.example>"))
	if err != nil || created || again.ID != m1.ID || again.Text != m1.Text {
		t.Errorf("Deliver(same Message-ID, same thread) = %+v, %v, %v; want the stored one, created=false", again, created, err)
	}
	// The same Message-ID in another thread is another message.
	other := deliver(t, st, inbound(f, 0, f.Acme, f.Bob, "dup@acme.example"))
	if other.ID == m1.ID {
		t.Errorf("Deliver into another thread returned the first thread's message")
	}
	// A retransmission for a new thread finds the thread the first made.
	fresh := deliver(t, st, inbound(f, 0, f.Solo, f.Sue, "fresh@solo.example"))
	again, created, err = st.Deliver(ctx, inbound(f, 0, f.Solo, f.Sue, "fresh@solo.example"))
	if err != nil || created || again.ID != fresh.ID {
		t.Errorf("Deliver(same Message-ID, new thread of the same team) = %+v, %v, %v; want the stored one", again, created, err)
	}
	if ths, _ := st.Threads(ctx, f.Company.ID); len(ths) != 3 {
		t.Errorf("a retransmission made another thread: %d threads, want 3", len(ths))
	}
	// No Message-ID: never deduplicated.
	deliver(t, st, inbound(f, m1.ThreadID, f.Acme, f.Ann, ""))
	deliver(t, st, inbound(f, m1.ThreadID, f.Acme, f.Ann, ""))
	list, _ := st.ThreadMessages(ctx, f.Company.ID, m1.ThreadID)
	if len(list) != 3 {
		t.Errorf("thread has %d messages, want 3", len(list))
	}
}

func testThreadByMessageID(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	g := NewFixture(t, st, "b")
	d := inbound(f, 0, f.Acme, f.Ann, "in1@acme.example")
	d.MessageIDs = []string{"<out1@a.example>", "out2@a.example"}
	m1 := deliver(t, st, d)
	m2 := deliver(t, st, inbound(f, 0, f.Solo, f.Sue, "in2@solo.example"))
	for _, tc := range []struct {
		ids  []string
		want int64
	}{
		{[]string{"in1@acme.example"}, m1.ThreadID},
		{[]string{"<out1@a.example>"}, m1.ThreadID},
		{[]string{"unknown@x", "out2@a.example"}, m1.ThreadID},
		{[]string{"in2@solo.example", "in1@acme.example"}, m2.ThreadID},
	} {
		th, err := st.ThreadByMessageID(ctx, f.Company.ID, tc.ids)
		if err != nil || th.ID != tc.want {
			t.Errorf("ThreadByMessageID(%q) = %d, %v; want %d", tc.ids, th.ID, err, tc.want)
		}
	}
	_, err := st.ThreadByMessageID(ctx, f.Company.ID, []string{"unknown@x"})
	wantErr(t, "ThreadByMessageID(unknown)", err, storage.ErrNotFound)
	_, err = st.ThreadByMessageID(ctx, f.Company.ID, nil)
	wantErr(t, "ThreadByMessageID(none)", err, storage.ErrNotFound)
	_, err = st.ThreadByMessageID(ctx, g.Company.ID, []string{"in1@acme.example"})
	wantErr(t, "ThreadByMessageID(another company's)", err, storage.ErrNotFound)
}

func testAnswered(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	in1 := deliver(t, st, inbound(f, 0, f.Acme, f.Ann, "in1@x"))
	in2 := deliver(t, st, inbound(f, in1.ThreadID, f.Acme, f.Bob, "in2@x"))
	otherThread := deliver(t, st, inbound(f, 0, f.Acme, f.Ann, "in3@x"))
	out := deliver(t, st, storage.Delivery{ThreadID: in1.ThreadID, Message: storage.Message{
		CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Manager.ID, MessageID: "out@a.example", Text: "reply"}})
	if !out.Seen || out.Answered {
		t.Errorf("staff message Seen=%v Answered=%v; want born read, not answered", out.Seen, out.Answered)
	}
	in4 := deliver(t, st, inbound(f, in1.ThreadID, f.Acme, f.Ann, "in4@x"))
	for _, tc := range []struct {
		id             int64
		answered, seen bool
	}{{in1.ID, true, false}, {in2.ID, true, false}, {otherThread.ID, false, false}, {in4.ID, false, false}, {out.ID, false, true}} {
		m, err := st.Message(ctx, f.Company.ID, tc.id)
		if err != nil || m.Answered != tc.answered || m.Seen != tc.seen {
			t.Errorf("message %d (%s): answered=%v seen=%v, %v; want answered=%v seen=%v", tc.id, m.MessageID, m.Answered, m.Seen, err, tc.answered, tc.seen)
		}
	}
}

func testDeliverOutbound(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	th := deliver(t, st, inbound(f, 0, f.Acme, f.Ann, "in@x"))
	d := storage.Delivery{ThreadID: th.ThreadID,
		Message:    storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Admin.ID, MessageID: "staff@a.example"},
		MessageIDs: []string{"n1@a.example", "n2@a.example"},
		Outbound: []storage.OutboundEmail{
			{MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: "n1@a.example"},
			{MemberID: f.Bob.ID, Rcpt: f.Bob.Email, MessageID: "n2@a.example"},
		}}
	m := deliver(t, st, d)
	for i, e := range d.Outbound {
		if e.ID == 0 || e.MessageRowID != m.ID || e.CompanyID != f.Company.ID || e.State != storage.QueueQueued || e.NextAttemptAt.IsZero() {
			t.Errorf("Outbound[%d] after Deliver = %+v; want id, message row, queued, due", i, e)
		}
	}
	if q, ok := st.(storage.QueueStore); ok {
		e, err := q.OutboundEmail(ctx, d.Outbound[1].ID)
		if err != nil || e.Rcpt != f.Bob.Email || e.MessageRowID != m.ID || e.State != storage.QueueQueued {
			t.Errorf("OutboundEmail = %+v, %v", e, err)
		}
	}
	if got, err := st.ThreadByMessageID(ctx, f.Company.ID, []string{"n2@a.example"}); err != nil || got.ID != th.ThreadID {
		t.Errorf("ThreadByMessageID(notification id) = %d, %v; want %d", got.ID, err, th.ThreadID)
	}
}

func testCampaignThread(t *testing.T, st Core) {
	ctx := context.Background()
	q, ok := st.(campaigner)
	if !ok {
		t.Skip("the store has no CreateCampaign yet (QueueStore)")
	}
	f := NewFixture(t, st, "a")
	c, err := q.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID, StaffID: f.Admin.ID, Subject: "News", Body: "b"}, nil)
	must(t, err)
	reply := func(m storage.Member, team storage.Team, id string) storage.Delivery {
		d := inbound(f, 0, team, m, id)
		d.NewThread.MemberID, d.NewThread.CampaignID = m.ID, c.ID
		return d
	}
	r1 := deliver(t, st, reply(f.Ann, f.Acme, "r1@x"))
	r2 := deliver(t, st, reply(f.Ann, f.Acme, "r2@x"))
	r3 := deliver(t, st, reply(f.Bob, f.Acme, "r3@x"))
	if r1.ThreadID != r2.ThreadID || r3.ThreadID == r1.ThreadID {
		t.Errorf("campaign replies went to threads %d, %d, %d; want Ann's twice, Bob's another", r1.ThreadID, r2.ThreadID, r3.ThreadID)
	}
	th, _ := st.Thread(ctx, f.Company.ID, r1.ThreadID)
	if th.CampaignID != c.ID || th.MemberID != f.Ann.ID {
		t.Errorf("campaign thread = %+v", th)
	}
	// Concurrent first replies of one member still make one thread.
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := st.Deliver(ctx, reply(f.Sue, f.Solo, fmt.Sprintf("c%d@x", i)))
			if err != nil {
				t.Errorf("concurrent campaign reply: %v", err)
			}
			ids[i] = m.ThreadID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("concurrent campaign replies went to threads %v; want one", ids)
			break
		}
	}
}

func testDeliverInvalid(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	d := inbound(f, 0, f.Acme, f.Ann, "x@x")
	d.Message.Direction = "sideways"
	_, _, err := st.Deliver(ctx, d)
	wantErr(t, "Deliver(bad direction)", err, storage.ErrInvalid)
	_, _, err = st.Deliver(ctx, inbound(f, 999999, f.Acme, f.Ann, "x@x"))
	wantErr(t, "Deliver(unknown thread)", err, storage.ErrNotFound)
	_, _, err = st.Deliver(ctx, inbound(f, 0, storage.Team{ID: 999999}, f.Ann, "x@x"))
	wantErr(t, "Deliver(unknown team)", err, storage.ErrNotFound)
	d = inbound(f, 0, f.Acme, f.Ann, "x@x")
	d.NewThread.MemberID = f.Sue.ID // not of Acme
	_, _, err = st.Deliver(ctx, d)
	wantErr(t, "Deliver(member of another team)", err, storage.ErrNotFound)
	if ths, _ := st.Threads(ctx, f.Company.ID); len(ths) != 0 {
		t.Errorf("failed deliveries left threads %+v", ths)
	}
	_, err = st.Thread(ctx, f.Company.ID, 999999)
	wantErr(t, "Thread(unknown)", err, storage.ErrNotFound)
	_, err = st.Message(ctx, f.Company.ID, 999999)
	wantErr(t, "Message(unknown)", err, storage.ErrNotFound)
	_, err = st.ThreadMessages(ctx, f.Company.ID, 999999)
	wantErr(t, "ThreadMessages(unknown)", err, storage.ErrNotFound)
}

// testDeliverConcurrent delivers from many goroutines at once, some of
// them failing or duplicates: each caller gets its own outcome.
func testDeliverConcurrent(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	th := deliver(t, st, inbound(f, 0, f.Acme, f.Ann, "first@x"))
	const n = 48
	var wg sync.WaitGroup
	errs := make([]error, n)
	created := make([]bool, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := inbound(f, th.ThreadID, f.Acme, f.Ann, fmt.Sprintf("c%d@x", i))
			switch i % 8 {
			case 3:
				d.ThreadID = 999999 // fails
			case 5:
				d.Message.MessageID = "first@x" // duplicate
			}
			_, created[i], errs[i] = st.Deliver(ctx, d)
		}()
	}
	wg.Wait()
	stored := 1
	for i := 0; i < n; i++ {
		switch i % 8 {
		case 3:
			wantErr(t, fmt.Sprintf("delivery %d", i), errs[i], storage.ErrNotFound)
		case 5:
			if errs[i] != nil || created[i] {
				t.Errorf("duplicate delivery %d: created=%v, %v", i, created[i], errs[i])
			}
		default:
			if errs[i] != nil || !created[i] {
				t.Errorf("delivery %d: created=%v, %v", i, created[i], errs[i])
			}
			stored++
		}
	}
	list, err := st.ThreadMessages(ctx, f.Company.ID, th.ThreadID)
	if err != nil || len(list) != stored {
		t.Errorf("thread holds %d messages, %v; want %d", len(list), err, stored)
	}
}
