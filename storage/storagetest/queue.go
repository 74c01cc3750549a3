package storagetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// RunQueue tests the outbound queue: campaigns, claims and their leases,
// attempts, retry and drop, company isolation, concurrent claimers.
func RunQueue(t *testing.T, open func(t *testing.T) storage.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st storage.Store)
	}{
		{"campaign", testQueueCampaign},
		{"claim-lease", testQueueClaim},
		{"finish", testQueueFinish},
		{"retry-drop", testQueueRetryDrop},
		{"deliver-outbound", testQueueDeliver},
		{"isolation", testQueueIsolation},
		{"concurrent-claims", testQueueConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// t0 is a fixed time in the past, in whole milliseconds.
var t0 = time.UnixMilli(1_700_000_000_000)

// queueCampaign queues one campaign email for each member.
func queueCampaign(t *testing.T, st storage.Store, f *Fixture, due time.Time, members ...storage.Member) (storage.Campaign, []storage.OutboundEmail) {
	t.Helper()
	emails := make([]storage.OutboundEmail, len(members))
	for i, m := range members {
		emails[i] = storage.OutboundEmail{MemberID: m.ID, Rcpt: m.Email, NextAttemptAt: due,
			MessageID: fmt.Sprintf("<c%d.%s@%s>", i, m.Email, f.Company.Domains[0])}
	}
	c, err := st.CreateCampaign(context.Background(), storage.Campaign{CompanyID: f.Company.ID, StaffID: f.Admin.ID,
		Subject: "News", Body: "Hello partners", Groups: []string{"Gold", "Silver"}}, emails)
	if err != nil {
		t.Fatalf("CreateCampaign: %v", err)
	}
	return c, emails
}

func ids(es []storage.OutboundEmail) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func claim(t *testing.T, st storage.Store, now, lease time.Time, limit int) []storage.OutboundEmail {
	t.Helper()
	got, err := st.ClaimDue(context.Background(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimDue(%v): %v", now, err)
	}
	return got
}

func testQueueCampaign(t *testing.T, st storage.Store) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	c, emails := queueCampaign(t, st, f, t0, f.Ann, f.Bob, f.Sue)
	if c.ID == 0 || !c.CreatedAt.After(t0) {
		t.Fatalf("CreateCampaign = %+v", c)
	}
	got, err := st.Campaign(ctx, f.Company.ID, c.ID)
	must(t, err)
	if got.Subject != "News" || got.Body != "Hello partners" || got.StaffID != f.Admin.ID ||
		!reflect.DeepEqual(got.Groups, []string{"Gold", "Silver"}) || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("Campaign = %+v, want %+v", got, c)
	}
	for i, e := range emails {
		if e.ID == 0 || e.CampaignID != c.ID || e.CompanyID != f.Company.ID || e.State != storage.QueueQueued {
			t.Fatalf("email %d = %+v", i, e)
		}
		stored, err := st.OutboundEmail(ctx, e.ID)
		must(t, err)
		if stored.Rcpt != e.Rcpt || stored.MemberID != e.MemberID || stored.CampaignID != c.ID ||
			stored.MessageID != fmt.Sprintf("c%d.%s@%s", i, e.Rcpt, f.Company.Domains[0]) || !stored.NextAttemptAt.Equal(t0) {
			t.Errorf("OutboundEmail(%d) = %+v, want rcpt %s due %v", e.ID, stored, e.Rcpt, t0)
		}
	}
	_, err = st.OutboundEmail(ctx, emails[2].ID+1000)
	wantErr(t, "OutboundEmail(unknown)", err, storage.ErrNotFound)
	_, err = st.Campaign(ctx, f.Company.ID, c.ID+1000)
	wantErr(t, "Campaign(unknown)", err, storage.ErrNotFound)
	_, err = st.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID + 1000}, nil)
	wantErr(t, "CreateCampaign(unknown company)", err, storage.ErrNotFound)

	// A large campaign is queued whole, ids in member order.
	many := make([]storage.OutboundEmail, 1234)
	for i := range many {
		many[i] = storage.OutboundEmail{MemberID: f.Ann.ID, Rcpt: fmt.Sprintf("m%d@x.example", i)}
	}
	_, err = st.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID, Subject: "Big"}, many)
	must(t, err)
	for _, i := range []int{0, 499, 500, 1233} {
		e, err := st.OutboundEmail(ctx, many[i].ID)
		must(t, err)
		if e.Rcpt != many[i].Rcpt {
			t.Errorf("email %d: id %d holds %s, want %s", i, many[i].ID, e.Rcpt, many[i].Rcpt)
		}
	}
}

func testQueueClaim(t *testing.T, st storage.Store) {
	f := NewFixture(t, st, "a")
	_, emails := queueCampaign(t, st, f, t0, f.Ann, f.Bob, f.Sue)
	_, later := queueCampaign(t, st, f, t0.Add(time.Hour), f.Eve)
	lease := t0.Add(10 * time.Minute)

	if got := claim(t, st, t0.Add(-time.Second), lease, 10); len(got) != 0 {
		t.Fatalf("claim before due = %v, want none", ids(got))
	}
	first := claim(t, st, t0, lease, 2)
	if !reflect.DeepEqual(ids(first), ids(emails[:2])) {
		t.Fatalf("claim 2 = %v, want %v", ids(first), ids(emails[:2]))
	}
	for _, e := range first {
		if e.Attempts != 1 || !e.NextAttemptAt.Equal(lease) || e.State != storage.QueueQueued {
			t.Errorf("claimed %+v, want attempts 1, next attempt %v", e, lease)
		}
	}
	second := claim(t, st, t0.Add(time.Minute), lease, 10)
	if !reflect.DeepEqual(ids(second), ids(emails[2:])) {
		t.Fatalf("claim rest = %v, want %v (leased rows are not claimed again)", ids(second), ids(emails[2:]))
	}
	if got := claim(t, st, t0.Add(time.Minute), lease, 10); len(got) != 0 {
		t.Fatalf("claim with everything leased = %v, want none", ids(got))
	}
	// The claimer died: once the lease ends the emails are due again, with
	// the lost attempt counted; the later email is due too by then.
	again := claim(t, st, t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	want := append(ids(emails), later[0].ID)
	if !reflect.DeepEqual(ids(again), want) {
		t.Fatalf("claim after lease = %v, want %v", ids(again), want)
	}
	if again[0].Attempts != 2 || again[3].Attempts != 1 {
		t.Errorf("attempts after a lost attempt = %d, %d; want 2, 1", again[0].Attempts, again[3].Attempts)
	}
	if got := claim(t, st, t0, lease, 0); len(got) != 0 {
		t.Errorf("claim limit 0 = %v", ids(got))
	}
}

func testQueueFinish(t *testing.T, st storage.Store) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	_, emails := queueCampaign(t, st, f, t0, f.Ann, f.Bob, f.Sue)
	claim(t, st, t0, t0.Add(time.Minute), 10)
	retryAt := t0.Add(30 * time.Minute)
	must(t, st.FinishAttempt(ctx, emails[0].ID, storage.QueueSent, time.Time{}, ""))
	must(t, st.FinishAttempt(ctx, emails[1].ID, storage.QueueQueued, retryAt, "451 4.3.0 try later"))
	must(t, st.FinishAttempt(ctx, emails[2].ID, storage.QueueFailed, time.Time{}, "550 5.1.1 no such user"))

	check := func(e storage.OutboundEmail, state, lastErr string) {
		t.Helper()
		got, err := st.OutboundEmail(ctx, e.ID)
		must(t, err)
		if got.State != state || got.LastError != lastErr || got.Attempts != 1 {
			t.Errorf("email %d = %s %q attempts %d, want %s %q attempts 1", e.ID, got.State, got.LastError, got.Attempts, state, lastErr)
		}
	}
	check(emails[0], storage.QueueSent, "")
	check(emails[1], storage.QueueQueued, "451 4.3.0 try later")
	check(emails[2], storage.QueueFailed, "550 5.1.1 no such user")
	if got := claim(t, st, retryAt.Add(-time.Millisecond), retryAt.Add(time.Hour), 10); len(got) != 0 {
		t.Errorf("claim before the retry time = %v", ids(got))
	}
	if got := claim(t, st, retryAt, retryAt.Add(time.Hour), 10); !reflect.DeepEqual(ids(got), ids(emails[1:2])) {
		t.Errorf("claim at the retry time = %v, want %v (sent and failed never again)", ids(got), ids(emails[1:2]))
	}
	wantErr(t, "FinishAttempt(unknown)", st.FinishAttempt(ctx, emails[2].ID+1000, storage.QueueSent, time.Time{}, ""), storage.ErrNotFound)
	wantErr(t, "FinishAttempt(dropped state)", st.FinishAttempt(ctx, emails[1].ID, storage.QueueDropped, time.Time{}, ""), storage.ErrInvalid)

	q, err := st.Queue(ctx, f.Company.ID, storage.QueueFailed, 0)
	must(t, err)
	if !reflect.DeepEqual(ids(q), ids(emails[2:])) {
		t.Errorf("Queue(failed) = %v, want %v", ids(q), ids(emails[2:]))
	}
	q, err = st.Queue(ctx, f.Company.ID, "", 2)
	must(t, err)
	if !reflect.DeepEqual(ids(q), ids(emails[:2])) {
		t.Errorf("Queue(all, limit 2) = %v, want %v", ids(q), ids(emails[:2]))
	}
}

func testQueueRetryDrop(t *testing.T, st storage.Store) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	A := f.Company.ID
	_, emails := queueCampaign(t, st, f, t0, f.Ann, f.Bob, f.Sue)
	claim(t, st, t0, time.Now().Add(time.Hour), 10)
	must(t, st.FinishAttempt(ctx, emails[0].ID, storage.QueueFailed, time.Time{}, "550 no"))
	must(t, st.FinishAttempt(ctx, emails[1].ID, storage.QueueSent, time.Time{}, ""))

	before := time.Now().Add(-time.Second)
	must(t, st.RetryEmail(ctx, A, emails[0].ID))
	got, err := st.OutboundEmail(ctx, emails[0].ID)
	must(t, err)
	if got.State != storage.QueueQueued || got.Attempts != 0 || got.NextAttemptAt.Before(before) || got.NextAttemptAt.After(time.Now()) {
		t.Errorf("after RetryEmail: %+v, want queued, 0 attempts, due now", got)
	}
	if c := claim(t, st, time.Now(), time.Now().Add(time.Minute), 10); !reflect.DeepEqual(ids(c), ids(emails[:1])) {
		t.Errorf("claim after retry = %v, want %v", ids(c), ids(emails[:1]))
	}
	wantErr(t, "RetryEmail(sent)", st.RetryEmail(ctx, A, emails[1].ID), storage.ErrInvalid)
	wantErr(t, "DropEmail(sent)", st.DropEmail(ctx, A, emails[1].ID), storage.ErrInvalid)
	wantErr(t, "RetryEmail(unknown)", st.RetryEmail(ctx, A, emails[2].ID+1000), storage.ErrNotFound)
	wantErr(t, "DropEmail(unknown)", st.DropEmail(ctx, A, emails[2].ID+1000), storage.ErrNotFound)

	// Dropped while in flight: a failure keeps the drop, a delivery wins.
	must(t, st.DropEmail(ctx, A, emails[0].ID))
	must(t, st.DropEmail(ctx, A, emails[2].ID))
	must(t, st.FinishAttempt(ctx, emails[0].ID, storage.QueueQueued, time.Now(), "451 later"))
	must(t, st.FinishAttempt(ctx, emails[2].ID, storage.QueueSent, time.Time{}, ""))
	for i, want := range []string{storage.QueueDropped, storage.QueueSent, storage.QueueSent} {
		got, err := st.OutboundEmail(ctx, emails[i].ID)
		must(t, err)
		if got.State != want {
			t.Errorf("email %d state = %s, want %s", i, got.State, want)
		}
	}
	if c := claim(t, st, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour), 10); len(c) != 0 {
		t.Errorf("claim with nothing queued = %v", ids(c))
	}
	// A dropped email can be queued again.
	must(t, st.RetryEmail(ctx, A, emails[0].ID))
	q, err := st.Queue(ctx, A, storage.QueueQueued, 0)
	must(t, err)
	if !reflect.DeepEqual(ids(q), ids(emails[:1])) {
		t.Errorf("Queue(queued) after retrying a dropped email = %v", ids(q))
	}
}

func testQueueDeliver(t *testing.T, st storage.Store) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	d := inbound(f, 0, f.Acme, f.Ann, "staff-1@a.example")
	d.Message.Direction, d.Message.AuthorMemberID, d.Message.AuthorStaffID = storage.DirectionOut, 0, f.Admin.ID
	d.Outbound = []storage.OutboundEmail{
		{MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: "n1@a.example"},
		{MemberID: f.Bob.ID, Rcpt: f.Bob.Email, MessageID: "n2@a.example"},
	}
	m := deliver(t, st, d)
	q, err := st.Queue(ctx, f.Company.ID, storage.QueueQueued, 0)
	must(t, err)
	if len(q) != 2 || q[0].MessageRowID != m.ID || q[1].MessageRowID != m.ID || q[0].Rcpt != f.Ann.Email || q[1].CampaignID != 0 {
		t.Fatalf("queue after Deliver = %+v, want two notifications of message %d", q, m.ID)
	}
	got := claim(t, st, time.Now().Add(time.Second), time.Now().Add(time.Minute), 10)
	if !reflect.DeepEqual(ids(got), ids(q)) {
		t.Errorf("claim = %v, want %v", ids(got), ids(q))
	}
}

func testQueueIsolation(t *testing.T, st storage.Store) {
	ctx := context.Background()
	a := NewFixture(t, st, "a")
	b := NewFixture(t, st, "b")
	queueCampaign(t, st, a, t0, a.Ann)
	bc, bEmails := queueCampaign(t, st, b, t0, b.Ann, b.Bob)
	A := a.Company.ID
	_, err := st.Campaign(ctx, A, bc.ID)
	wantErr(t, "Campaign(B's id, A's company)", err, storage.ErrNotFound)
	wantErr(t, "RetryEmail(B's email, A's company)", st.RetryEmail(ctx, A, bEmails[0].ID), storage.ErrNotFound)
	wantErr(t, "DropEmail(B's email, A's company)", st.DropEmail(ctx, A, bEmails[1].ID), storage.ErrNotFound)
	_, err = st.CreateCampaign(ctx, storage.Campaign{CompanyID: A, StaffID: b.Admin.ID}, nil)
	wantErr(t, "CreateCampaign(B's staff)", err, storage.ErrNotFound)
	q, err := st.Queue(ctx, A, "", 0)
	must(t, err)
	for _, e := range q {
		if e.CompanyID != A {
			t.Errorf("Queue(A) lists %+v of company %d", e, e.CompanyID)
		}
	}
	if len(q) != 1 {
		t.Errorf("Queue(A) = %d emails, want 1", len(q))
	}
	for _, e := range bEmails {
		got, err := st.OutboundEmail(ctx, e.ID)
		must(t, err)
		if got.State != storage.QueueQueued || got.Attempts != 0 {
			t.Errorf("B's email changed by A: %+v", got)
		}
	}
}

// testQueueConcurrent claims from many goroutines at once (separate
// connections: on PostgreSQL, separate transactions racing for the same
// rows): every email is claimed exactly once.
func testQueueConcurrent(t *testing.T, st storage.Store) {
	f := NewFixture(t, st, "a")
	const n, claimers = 300, 8
	members := make([]storage.Member, n)
	for i := range members {
		members[i] = storage.Member{ID: f.Ann.ID, Email: fmt.Sprintf("p%d@x.example", i)}
	}
	_, emails := queueCampaign(t, st, f, t0, members...)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := st.ClaimDue(context.Background(), t0, t0.Add(time.Hour), 7)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					seen[e.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ClaimDue: %v", err)
	}
	for _, e := range emails {
		if seen[e.ID] != 1 {
			t.Errorf("email %d claimed %d times, want once", e.ID, seen[e.ID])
		}
	}
	if len(seen) != n {
		t.Errorf("%d emails claimed, want %d", len(seen), n)
	}
}
