package storagetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// RunIsolation proves that company A can neither read nor change company
// B's rows: B's ids used with A's company id are not found, and B's rows
// stay as they were.
func RunIsolation(t *testing.T, open Opener) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	a := NewFixture(t, st, "a")
	b := NewFixture(t, st, "b")
	bThread := deliver(t, st, inbound(b, 0, b.Acme, b.Ann, "b1@b.example"))
	A := a.Company.ID
	before := everything(t, st, b)

	reads := map[string]error{}
	_, reads["StaffByID"] = st.StaffByID(ctx, A, b.Admin.ID)
	_, reads["Group"] = st.Group(ctx, A, b.Gold.ID)
	_, reads["Team"] = st.Team(ctx, A, b.Acme.ID)
	_, reads["Members"] = st.Members(ctx, A, b.Acme.ID)
	_, reads["Member"] = st.Member(ctx, A, b.Ann.ID)
	_, reads["MemberByEmail"] = st.MemberByEmail(ctx, A, b.Ann.Email)
	_, reads["Thread"] = st.Thread(ctx, A, bThread.ThreadID)
	_, reads["ThreadMessages"] = st.ThreadMessages(ctx, A, bThread.ThreadID)
	_, reads["Message"] = st.Message(ctx, A, bThread.ID)
	_, reads["ThreadByMessageID"] = st.ThreadByMessageID(ctx, A, []string{"b1@b.example"})
	_, reads["TeamBySlug"] = st.TeamBySlug(ctx, A, "nope-"+b.Acme.Slug)
	for what, err := range reads {
		wantErr(t, what+"(B's id, A's company)", err, storage.ErrNotFound)
	}

	writes := map[string]error{}
	writes["SetStaffPassword"] = st.SetStaffPassword(ctx, A, b.Admin.Email, "stolen")
	writes["RemoveStaff"] = st.RemoveStaff(ctx, A, b.Admin.Email)
	writes["SetGroupMessaging"] = st.SetGroupMessaging(ctx, A, b.Gold.ID, false, "x")
	st1 := storage.StatusDeclined
	_, writes["UpdateTeam"] = st.UpdateTeam(ctx, A, b.Acme.ID, storage.TeamUpdate{Status: &st1})
	_, writes["UpdateTeam(B's group)"] = st.UpdateTeam(ctx, A, a.Acme.ID, storage.TeamUpdate{GroupID: &b.Silver.ID})
	_, writes["UpdateTeam(B's manager)"] = st.UpdateTeam(ctx, A, a.Acme.ID, storage.TeamUpdate{ManagerID: &b.Manager.ID})
	writes["SetMemberNotifications"] = st.SetMemberNotifications(ctx, A, b.Ann.ID, false)
	_, writes["RecordBounce"] = st.RecordBounce(ctx, A, storage.Bounce{MemberID: b.Ann.ID, Hard: true})
	d := inbound(a, bThread.ThreadID, a.Acme, a.Ann, "a-into-b@a.example")
	_, _, writes["Deliver(B's thread)"] = st.Deliver(ctx, d)
	d = inbound(a, 0, b.Acme, a.Ann, "a-new-b@a.example")
	_, _, writes["Deliver(B's team)"] = st.Deliver(ctx, d)
	d = inbound(a, 0, a.Acme, b.Ann, "a-author-b@a.example")
	_, _, writes["Deliver(B's author)"] = st.Deliver(ctx, d)
	d = inbound(a, 0, a.Acme, a.Ann, "a-member-b@a.example")
	d.NewThread.MemberID = b.Ann.ID
	_, _, writes["Deliver(B's member)"] = st.Deliver(ctx, d)
	d = inbound(a, 0, a.Acme, a.Ann, "a-company-b@a.example")
	d.NewThread.CompanyID = b.Company.ID
	_, _, writes["Deliver(thread of B)"] = st.Deliver(ctx, d)
	for what, err := range writes {
		if err == nil {
			t.Errorf("%s with A's company succeeded on B's rows", what)
		}
	}
	wantErr(t, "SetStaffPassword", writes["SetStaffPassword"], storage.ErrNotFound)
	wantErr(t, "UpdateTeam", writes["UpdateTeam"], storage.ErrNotFound)
	wantErr(t, "Deliver(B's thread)", writes["Deliver(B's thread)"], storage.ErrNotFound)

	if after := everything(t, st, b); !reflect.DeepEqual(before, after) {
		t.Errorf("company B changed through company A:\nbefore %+v\nafter  %+v", before, after)
	}
	// A's lists show nothing of B.
	ts, _ := st.Teams(ctx, A, storage.TeamFilter{})
	for _, tm := range ts {
		if tm.CompanyID != A {
			t.Errorf("Teams(A) lists %+v", tm)
		}
	}
	if th, _ := st.Threads(ctx, A); len(th) != 0 {
		t.Errorf("Threads(A) = %+v, want none", th)
	}
	if bs, _ := st.Bounces(ctx, A); len(bs) != 0 {
		t.Errorf("Bounces(A) = %+v, want none", bs)
	}
	if sl, _ := st.StaffList(ctx, A); len(sl) != 2 {
		t.Errorf("StaffList(A) = %+v, want A's two", sl)
	}
}

// everything reads all of a company's rows the admin and message areas
// can see.
func everything(t *testing.T, st Core, f *Fixture) []any {
	t.Helper()
	ctx := context.Background()
	id := f.Company.ID
	c, err := st.Company(ctx, id)
	must(t, err)
	staff, err := st.StaffList(ctx, id)
	must(t, err)
	groups, err := st.Groups(ctx, id)
	must(t, err)
	bounces, err := st.Bounces(ctx, id)
	must(t, err)
	threads, err := st.Threads(ctx, id)
	must(t, err)
	out := []any{c, staff, groups, bounces, snapshot(t, st, id), threads}
	for _, th := range threads {
		ms, err := st.ThreadMessages(ctx, id, th.ID)
		must(t, err)
		out = append(out, ms)
	}
	return out
}
