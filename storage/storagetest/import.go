package storagetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

func testImport(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	rows := []storage.PartnerRow{
		{Line: 2, Team: "Acme Resellers", Group: "Gold", Manager: "PM@a.example", Status: "approved", MemberEmail: "ann@acme-a.example", MemberName: "Ann", EmailNotifications: true},
		{Line: 3, Team: "Acme Resellers", Group: "Gold", Manager: "pm@a.example", Status: "Approved", MemberEmail: "bob@acme-a.example", MemberName: "Bob", EmailNotifications: true},
		{Line: 4, Team: "Solo Agency", Group: "Silver", Status: "approved", MemberEmail: "sue@solo-a.example", MemberName: "Sue", EmailNotifications: true},
		{Line: 5, Team: "Beta Ltd.", Group: "Gold", Status: "pending", MemberEmail: "eve@beta-a.example", MemberName: "Eve", EmailNotifications: false},
	}
	res, err := st.ImportPartners(ctx, f.Company.ID, rows)
	if err != nil || res != (storage.ImportResult{}) {
		t.Errorf("re-import of the same rows = %+v, %v; want nothing changed", res, err)
	}
	// Solo Agency changes status; Bob moves to a new team; a new member.
	rows[2].Status = "declined"
	rows[1] = storage.PartnerRow{Line: 3, Team: "Beta Ltd.", Group: "Gold", Status: "pending", MemberEmail: "BOB@acme-a.example", MemberName: "Bob B.", EmailNotifications: true}
	rows = append(rows,
		storage.PartnerRow{Line: 6, Team: "Gamma & Co", Group: "Silver", Status: "", MemberEmail: "gus@gamma.example", MemberName: "Gus", EmailNotifications: true},
		storage.PartnerRow{Line: 7, Team: "Gamma-Co", Group: "Silver", Status: "approved"}) // same slug, no member
	res, err = st.ImportPartners(ctx, f.Company.ID, rows)
	want := storage.ImportResult{TeamsCreated: 2, TeamsUpdated: 1, MembersCreated: 1, MembersUpdated: 1}
	if err != nil || res != want {
		t.Fatalf("ImportPartners = %+v, %v; want %+v", res, err, want)
	}
	bob, err := st.MemberByEmail(ctx, f.Company.ID, "bob@acme-a.example")
	if err != nil || bob.ID != f.Bob.ID || bob.TeamID != f.Beta.ID || bob.Name != "Bob B." {
		t.Errorf("moved member = %+v, %v; want the same member in Beta", bob, err)
	}
	solo, _ := st.Team(ctx, f.Company.ID, f.Solo.ID)
	if solo.Status != storage.StatusDeclined {
		t.Errorf("Solo status = %q, want declined", solo.Status)
	}
	g1, err1 := st.TeamByName(ctx, f.Company.ID, "Gamma & Co")
	g2, err2 := st.TeamByName(ctx, f.Company.ID, "Gamma-Co")
	if err1 != nil || err2 != nil || g1.Slug != "gamma-co" || g2.Slug != "gamma-co-2" || g1.Status != storage.StatusPending {
		t.Errorf("teams with colliding slugs = %+v %v / %+v %v; want gamma-co and gamma-co-2, empty status pending", g1, err1, g2, err2)
	}
	_, err = st.ImportPartners(ctx, 999999, rows[:1])
	wantErr(t, "ImportPartners(unknown company)", err, storage.ErrNotFound)
}

func testImportAllOrNothing(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	NewFixture(t, st, "b")
	good := storage.PartnerRow{Line: 2, Team: "New Team", Group: "Gold", Status: "approved", MemberEmail: "new@new.example", MemberName: "New", EmailNotifications: true}
	moved := storage.PartnerRow{Line: 3, Team: "New Team", Group: "Gold", Status: "approved", MemberEmail: f.Ann.Email, MemberName: "Ann", EmailNotifications: true}
	for _, tc := range []struct {
		name string
		bad  storage.PartnerRow
		is   error
	}{
		{"unknown group", storage.PartnerRow{Team: "X", Group: "Platinum", Status: "approved", MemberEmail: "x@x.example"}, storage.ErrNotFound},
		{"unknown manager", storage.PartnerRow{Team: "X", Group: "Gold", Manager: "nobody@a.example", Status: "approved", MemberEmail: "x@x.example"}, storage.ErrNotFound},
		{"manager of another company", storage.PartnerRow{Team: "X", Group: "Gold", Manager: "pm@b.example", Status: "approved"}, storage.ErrNotFound},
		{"bad status", storage.PartnerRow{Team: "X", Group: "Gold", Status: "approvd", MemberEmail: "x@x.example"}, storage.ErrInvalid},
		{"bad email", storage.PartnerRow{Team: "X", Group: "Gold", Status: "approved", MemberEmail: "x at x.example"}, storage.ErrInvalid},
		{"duplicate email", storage.PartnerRow{Team: "X", Group: "Gold", Status: "approved", MemberEmail: "NEW@new.example"}, storage.ErrInvalid},
		{"empty team", storage.PartnerRow{Group: "Gold", Status: "approved", MemberEmail: "x@x.example"}, storage.ErrInvalid},
		{"team described twice", storage.PartnerRow{Team: "New Team", Group: "Silver", Status: "approved", MemberEmail: "x@x.example"}, storage.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, st, f.Company.ID)
			bad := tc.bad
			bad.Line = 4
			_, err := st.ImportPartners(ctx, f.Company.ID, []storage.PartnerRow{good, moved, bad})
			var re *storage.RowError
			if !errors.As(err, &re) || re.Line != 4 || !errors.Is(err, tc.is) {
				t.Fatalf("ImportPartners = %v; want a *RowError on line 4 wrapping %v", err, tc.is)
			}
			if after := snapshot(t, st, f.Company.ID); !reflect.DeepEqual(before, after) {
				t.Errorf("a failed import changed the directory:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

// snapshot lists a company's teams and members.
func snapshot(t *testing.T, st Core, companyID int64) []any {
	t.Helper()
	ctx := context.Background()
	ts, err := st.Teams(ctx, companyID, storage.TeamFilter{})
	must(t, err)
	out := []any{}
	for _, tm := range ts {
		ms, err := st.Members(ctx, companyID, tm.ID)
		must(t, err)
		out = append(out, tm, ms)
	}
	return out
}
