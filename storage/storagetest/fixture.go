package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// Fixture is a company with staff, two groups, three teams and members,
// created through the store's own methods.
type Fixture struct {
	Company          storage.Company
	Admin, Manager   storage.Staff
	Gold, Silver     storage.Group
	Acme, Solo, Beta storage.Team // Acme: 2 members (gold), Solo: 1 (silver), Beta: 1 (gold, pending)
	Ann, Bob, Sue    storage.Member
	Eve              storage.Member // of Beta
}

// NewFixture creates the fixture company with the given slug; its domain
// is slug.example and staff emails end in @slug.example.
func NewFixture(t testing.TB, st Core, slug string) *Fixture {
	t.Helper()
	ctx := context.Background()
	f := &Fixture{}
	var err error
	f.Company, err = st.CreateCompany(ctx, storage.Company{Slug: slug, Name: "Company " + slug,
		FromAddr: "partners@" + slug + ".example", Domains: []string{"partners." + slug + ".example", slug + ".example"}})
	must(t, err)
	f.Admin, err = st.CreateStaff(ctx, f.Company.ID, storage.Staff{Email: "admin@" + slug + ".example", Name: "Ada Admin", Admin: true, PasswordHash: "h1"})
	must(t, err)
	f.Manager, err = st.CreateStaff(ctx, f.Company.ID, storage.Staff{Email: "pm@" + slug + ".example", Name: "Pat Manager", PasswordHash: "h2"})
	must(t, err)
	f.Gold, err = st.CreateGroup(ctx, f.Company.ID, "Gold")
	must(t, err)
	f.Silver, err = st.CreateGroup(ctx, f.Company.ID, "Silver")
	must(t, err)
	_, err = st.ImportPartners(ctx, f.Company.ID, []storage.PartnerRow{
		{Line: 2, Team: "Acme Resellers", Group: "Gold", Manager: f.Manager.Email, Status: "approved", MemberEmail: "ann@acme-" + slug + ".example", MemberName: "Ann", EmailNotifications: true},
		{Line: 3, Team: "Acme Resellers", Group: "Gold", Manager: f.Manager.Email, Status: "approved", MemberEmail: "bob@acme-" + slug + ".example", MemberName: "Bob", EmailNotifications: true},
		{Line: 4, Team: "Solo Agency", Group: "Silver", Status: "approved", MemberEmail: "sue@solo-" + slug + ".example", MemberName: "Sue", EmailNotifications: true},
		{Line: 5, Team: "Beta Ltd.", Group: "Gold", Status: "pending", MemberEmail: "eve@beta-" + slug + ".example", MemberName: "Eve", EmailNotifications: false},
	})
	must(t, err)
	team := func(name string) storage.Team {
		tm, err := st.TeamByName(ctx, f.Company.ID, name)
		must(t, err)
		return tm
	}
	member := func(email string) storage.Member {
		m, err := st.MemberByEmail(ctx, f.Company.ID, email)
		must(t, err)
		return m
	}
	f.Acme, f.Solo, f.Beta = team("Acme Resellers"), team("Solo Agency"), team("Beta Ltd.")
	f.Ann, f.Bob = member("ann@acme-"+slug+".example"), member("bob@acme-"+slug+".example")
	f.Sue, f.Eve = member("sue@solo-"+slug+".example"), member("eve@beta-"+slug+".example")
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err matches target (errors.Is).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

// parallel runs each named test in parallel on a fresh store.
func parallel(t *testing.T, open Opener, tests []namedTest) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

type namedTest struct {
	name string
	fn   func(t *testing.T, st Core)
}

// inbound is a partner message delivery into a new thread of team (and
// member, when non-zero), or into thread when non-zero.
func inbound(f *Fixture, thread int64, team storage.Team, author storage.Member, msgID string) storage.Delivery {
	return storage.Delivery{
		ThreadID:  thread,
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: team.ID, Subject: "Hello " + msgID},
		Message: storage.Message{
			CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: author.ID,
			MessageID: msgID, Subject: "Hello " + msgID, FromAddr: author.Email, Size: 123,
			RawKey: "raw-" + msgID, Text: "text of " + msgID,
		},
	}
}

func deliver(t *testing.T, st Core, d storage.Delivery) storage.Message {
	t.Helper()
	m, created, err := st.Deliver(context.Background(), d)
	if err != nil {
		t.Fatalf("Deliver(%s): %v", d.Message.MessageID, err)
	}
	if !created {
		t.Fatalf("Deliver(%s): created = false, want true", d.Message.MessageID)
	}
	return m
}
