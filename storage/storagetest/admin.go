package storagetest

import (
	"context"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// RunAdmin tests companies, staff, groups, teams, members and bounces.
func RunAdmin(t *testing.T, open Opener) {
	parallel(t, open, []namedTest{
		{"Companies", testCompanies},
		{"Staff", testStaff},
		{"Groups", testGroups},
		{"Teams", testTeams},
		{"Members", testMembers},
		{"Bounces", testBounces},
		{"Import", testImport},
		{"ImportAllOrNothing", testImportAllOrNothing},
	})
}

func testCompanies(t *testing.T, st Core) {
	ctx := context.Background()
	c, err := st.CreateCompany(ctx, storage.Company{Slug: "acme", Name: "Acme", FromAddr: "partners@acme.example",
		Domains: []string{"Partners.Acme.Example", "acme.example"}})
	must(t, err)
	if c.ID == 0 || c.Partners != "partners" || c.Domains[0] != "partners.acme.example" {
		t.Errorf("CreateCompany = %+v, want id, default partners, lower-case domains", c)
	}
	_, err = st.CreateCompany(ctx, storage.Company{Slug: "acme", Name: "Other"})
	wantErr(t, "CreateCompany(same slug)", err, storage.ErrExists)
	_, err = st.CreateCompany(ctx, storage.Company{Slug: "other", Name: "Other", Domains: []string{"ACME.example"}})
	wantErr(t, "CreateCompany(taken domain)", err, storage.ErrExists)
	if _, err := st.CompanyBySlug(ctx, "other"); err == nil {
		t.Errorf("a failed CreateCompany left company %q behind", "other")
	}
	_, err = st.CreateCompany(ctx, storage.Company{Name: "No slug"})
	wantErr(t, "CreateCompany(no slug)", err, storage.ErrInvalid)

	for _, get := range []struct {
		what string
		fn   func() (storage.Company, error)
	}{
		{"Company", func() (storage.Company, error) { return st.Company(ctx, c.ID) }},
		{"CompanyBySlug", func() (storage.Company, error) { return st.CompanyBySlug(ctx, "acme") }},
		{"CompanyByDomain", func() (storage.Company, error) { return st.CompanyByDomain(ctx, "ACME.example") }},
	} {
		got, err := get.fn()
		if err != nil || got.ID != c.ID || got.Name != "Acme" || got.FromAddr != c.FromAddr || len(got.Domains) != 2 || got.Domains[1] != "acme.example" {
			t.Errorf("%s = %+v, %v; want %+v", get.what, got, err, c)
		}
	}
	_, err = st.Company(ctx, c.ID+100)
	wantErr(t, "Company(unknown)", err, storage.ErrNotFound)
	_, err = st.CompanyBySlug(ctx, "nope")
	wantErr(t, "CompanyBySlug(unknown)", err, storage.ErrNotFound)
	_, err = st.CompanyByDomain(ctx, "nope.example")
	wantErr(t, "CompanyByDomain(unknown)", err, storage.ErrNotFound)

	c2, err := st.CreateCompany(ctx, storage.Company{Slug: "beta", Name: "Beta"})
	must(t, err)
	list, err := st.Companies(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != c.ID || list[1].ID != c2.ID || len(list[0].Domains) != 2 || len(list[1].Domains) != 0 {
		t.Errorf("Companies = %+v, want acme (2 domains), beta (none)", list)
	}
}

func testStaff(t *testing.T, st Core) {
	ctx := context.Background()
	a := NewFixture(t, st, "a")
	b := NewFixture(t, st, "b")
	s, err := st.CreateStaff(ctx, a.Company.ID, storage.Staff{Email: " New@A.Example ", Name: "New", PasswordHash: "x"})
	must(t, err)
	if s.ID == 0 || s.Email != "new@a.example" || s.CompanyID != a.Company.ID {
		t.Errorf("CreateStaff = %+v, want an id and the lower-case email", s)
	}
	_, err = st.CreateStaff(ctx, b.Company.ID, storage.Staff{Email: "NEW@a.example"})
	wantErr(t, "CreateStaff(email of another company's staff)", err, storage.ErrExists)
	_, err = st.CreateStaff(ctx, a.Company.ID, storage.Staff{Email: "not an email"})
	wantErr(t, "CreateStaff(bad email)", err, storage.ErrInvalid)
	_, err = st.CreateStaff(ctx, 999999, storage.Staff{Email: "x@x.example"})
	wantErr(t, "CreateStaff(unknown company)", err, storage.ErrNotFound)

	got, err := st.StaffByEmail(ctx, "ADMIN@b.example")
	if err != nil || got.ID != b.Admin.ID || got.CompanyID != b.Company.ID || !got.Admin || got.PasswordHash != "h1" {
		t.Errorf("StaffByEmail = %+v, %v; want %+v", got, err, b.Admin)
	}
	got, err = st.StaffByID(ctx, a.Company.ID, a.Manager.ID)
	if err != nil || got != a.Manager {
		t.Errorf("StaffByID = %+v, %v; want %+v", got, err, a.Manager)
	}
	list, err := st.StaffList(ctx, a.Company.ID)
	must(t, err)
	if len(list) != 3 || list[0].Email != "admin@a.example" || list[1].Email != "new@a.example" {
		t.Errorf("StaffList = %+v, want admin, new, pm of company a", list)
	}
	must(t, st.SetStaffPassword(ctx, a.Company.ID, "NEW@a.example", "y"))
	if got, _ := st.StaffByEmail(ctx, "new@a.example"); got.PasswordHash != "y" {
		t.Errorf("after SetStaffPassword hash = %q, want y", got.PasswordHash)
	}
	wantErr(t, "SetStaffPassword(unknown)", st.SetStaffPassword(ctx, a.Company.ID, "nobody@a.example", "z"), storage.ErrNotFound)

	// Removing a manager leaves their teams without one.
	must(t, st.RemoveStaff(ctx, a.Company.ID, a.Manager.Email))
	_, err = st.StaffByEmail(ctx, a.Manager.Email)
	wantErr(t, "StaffByEmail(removed)", err, storage.ErrNotFound)
	if tm, err := st.Team(ctx, a.Company.ID, a.Acme.ID); err != nil || tm.ManagerID != 0 || tm.ManagerEmail != "" {
		t.Errorf("team of a removed manager = %+v, %v; want no manager", tm, err)
	}
	wantErr(t, "RemoveStaff(again)", st.RemoveStaff(ctx, a.Company.ID, a.Manager.Email), storage.ErrNotFound)
}

func testGroups(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	if !f.Gold.MessagesEnabled || f.Gold.DisabledMessage != "" || f.Gold.ID == 0 {
		t.Errorf("CreateGroup = %+v, want messaging enabled by default", f.Gold)
	}
	_, err := st.CreateGroup(ctx, f.Company.ID, "Gold")
	wantErr(t, "CreateGroup(same name)", err, storage.ErrExists)
	_, err = st.CreateGroup(ctx, f.Company.ID, "  ")
	wantErr(t, "CreateGroup(empty)", err, storage.ErrInvalid)
	_, err = st.CreateGroup(ctx, 999999, "X")
	wantErr(t, "CreateGroup(unknown company)", err, storage.ErrNotFound)

	text := "Please write to support@a.example — or open https://a.example/help"
	must(t, st.SetGroupMessaging(ctx, f.Company.ID, f.Gold.ID, false, text))
	g, err := st.GroupByName(ctx, f.Company.ID, "Gold")
	if err != nil || g.MessagesEnabled || g.DisabledMessage != text {
		t.Errorf("after disable: %+v, %v; want disabled with the text", g, err)
	}
	must(t, st.SetGroupMessaging(ctx, f.Company.ID, f.Gold.ID, true, text))
	g, err = st.Group(ctx, f.Company.ID, f.Gold.ID)
	if err != nil || !g.MessagesEnabled {
		t.Errorf("after enable: %+v, %v; want enabled", g, err)
	}
	wantErr(t, "SetGroupMessaging(unknown)", st.SetGroupMessaging(ctx, f.Company.ID, 999999, false, ""), storage.ErrNotFound)
	_, err = st.GroupByName(ctx, f.Company.ID, "gold")
	wantErr(t, "GroupByName(other case)", err, storage.ErrNotFound)
	gs, err := st.Groups(ctx, f.Company.ID)
	must(t, err)
	if len(gs) != 2 || gs[0].Name != "Gold" || gs[1].Name != "Silver" {
		t.Errorf("Groups = %+v, want Gold, Silver", gs)
	}
}

func testTeams(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	if f.Acme.Slug != "acme-resellers" || f.Beta.Slug != "beta-ltd" || f.Acme.GroupName != "Gold" ||
		f.Acme.ManagerID != f.Manager.ID || f.Acme.ManagerName != "Pat Manager" || f.Acme.ManagerEmail != f.Manager.Email ||
		f.Acme.Status != storage.StatusApproved || f.Solo.ManagerID != 0 {
		t.Errorf("imported teams = %+v / %+v / %+v", f.Acme, f.Beta, f.Solo)
	}
	if tm, err := st.TeamBySlug(ctx, f.Company.ID, "ACME-Resellers"); err != nil || tm.ID != f.Acme.ID {
		t.Errorf("TeamBySlug = %+v, %v; want Acme", tm, err)
	}
	if tm, err := st.Team(ctx, f.Company.ID, f.Solo.ID); err != nil || tm != f.Solo {
		t.Errorf("Team = %+v, %v; want %+v", tm, err, f.Solo)
	}
	for _, tc := range []struct {
		f    storage.TeamFilter
		want []string
	}{
		{storage.TeamFilter{}, []string{"Acme Resellers", "Beta Ltd.", "Solo Agency"}},
		{storage.TeamFilter{GroupID: f.Gold.ID}, []string{"Acme Resellers", "Beta Ltd."}},
		{storage.TeamFilter{Status: storage.StatusPending}, []string{"Beta Ltd."}},
		{storage.TeamFilter{ManagerID: f.Manager.ID}, []string{"Acme Resellers"}},
		{storage.TeamFilter{GroupID: f.Silver.ID, Status: storage.StatusDeclined}, nil},
	} {
		ts, err := st.Teams(ctx, f.Company.ID, tc.f)
		must(t, err)
		var names []string
		for _, tm := range ts {
			names = append(names, tm.Name)
		}
		if len(names) != len(tc.want) || len(names) > 0 && names[0] != tc.want[0] || len(names) > 1 && names[1] != tc.want[1] {
			t.Errorf("Teams(%+v) = %q, want %q", tc.f, names, tc.want)
		}
	}

	declined := storage.StatusDeclined
	tm, err := st.UpdateTeam(ctx, f.Company.ID, f.Solo.ID, storage.TeamUpdate{GroupID: &f.Gold.ID, ManagerID: &f.Admin.ID, Status: &declined})
	if err != nil || tm.GroupID != f.Gold.ID || tm.GroupName != "Gold" || tm.ManagerID != f.Admin.ID || tm.Status != declined {
		t.Errorf("UpdateTeam = %+v, %v; want Gold, admin, declined", tm, err)
	}
	zero := int64(0)
	tm, err = st.UpdateTeam(ctx, f.Company.ID, f.Solo.ID, storage.TeamUpdate{ManagerID: &zero})
	if err != nil || tm.ManagerID != 0 || tm.Status != declined || tm.GroupID != f.Gold.ID {
		t.Errorf("UpdateTeam(manager 0) = %+v, %v; want no manager, the rest unchanged", tm, err)
	}
	bad := "maybe"
	_, err = st.UpdateTeam(ctx, f.Company.ID, f.Solo.ID, storage.TeamUpdate{Status: &bad})
	wantErr(t, "UpdateTeam(bad status)", err, storage.ErrInvalid)
	unknown := int64(999999)
	_, err = st.UpdateTeam(ctx, f.Company.ID, f.Solo.ID, storage.TeamUpdate{GroupID: &unknown})
	wantErr(t, "UpdateTeam(unknown group)", err, storage.ErrNotFound)
	_, err = st.UpdateTeam(ctx, f.Company.ID, f.Solo.ID, storage.TeamUpdate{ManagerID: &unknown})
	wantErr(t, "UpdateTeam(unknown manager)", err, storage.ErrNotFound)
	_, err = st.UpdateTeam(ctx, f.Company.ID, unknown, storage.TeamUpdate{Status: &declined})
	wantErr(t, "UpdateTeam(unknown team)", err, storage.ErrNotFound)
	_, err = st.TeamByName(ctx, f.Company.ID, "nope")
	wantErr(t, "TeamByName(unknown)", err, storage.ErrNotFound)
	_, err = st.TeamBySlug(ctx, f.Company.ID, "nope")
	wantErr(t, "TeamBySlug(unknown)", err, storage.ErrNotFound)
}

func testMembers(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	ms, err := st.Members(ctx, f.Company.ID, f.Acme.ID)
	must(t, err)
	if len(ms) != 2 || ms[0] != f.Ann || ms[1] != f.Bob || !f.Ann.EmailNotifications || f.Ann.TeamID != f.Acme.ID ||
		f.Ann.Name != "Ann" || f.Ann.BounceState != storage.BounceNone || f.Eve.EmailNotifications {
		t.Errorf("Members = %+v; want Ann, Bob with notifications on (Eve off)", ms)
	}
	if m, err := st.MemberByEmail(ctx, f.Company.ID, "  ANN@Acme-a.example"); err != nil || m.ID != f.Ann.ID {
		t.Errorf("MemberByEmail(other case) = %+v, %v; want Ann", m, err)
	}
	must(t, st.SetMemberNotifications(ctx, f.Company.ID, f.Ann.ID, false))
	if m, err := st.Member(ctx, f.Company.ID, f.Ann.ID); err != nil || m.EmailNotifications {
		t.Errorf("after SetMemberNotifications(false): %+v, %v", m, err)
	}
	wantErr(t, "SetMemberNotifications(unknown)", st.SetMemberNotifications(ctx, f.Company.ID, 999999, true), storage.ErrNotFound)
	_, err = st.Members(ctx, f.Company.ID, 999999)
	wantErr(t, "Members(unknown team)", err, storage.ErrNotFound)
	_, err = st.Member(ctx, f.Company.ID, 999999)
	wantErr(t, "Member(unknown)", err, storage.ErrNotFound)
	_, err = st.MemberByEmail(ctx, f.Company.ID, "nobody@x.example")
	wantErr(t, "MemberByEmail(unknown)", err, storage.ErrNotFound)
}

func testBounces(t *testing.T, st Core) {
	ctx := context.Background()
	f := NewFixture(t, st, "a")
	soft, err := st.RecordBounce(ctx, f.Company.ID, storage.Bounce{MemberID: f.Ann.ID, Detail: "4.2.2 mailbox full"})
	must(t, err)
	if soft.ID == 0 || soft.Email != f.Ann.Email || soft.CreatedAt.IsZero() {
		t.Errorf("RecordBounce(soft) = %+v; want id, the member's email, a time", soft)
	}
	m, _ := st.Member(ctx, f.Company.ID, f.Ann.ID)
	if m.BounceState != storage.BounceSoft || !m.EmailNotifications {
		t.Errorf("after a soft bounce: %+v; want soft, notifications on", m)
	}
	_, err = st.RecordBounce(ctx, f.Company.ID, storage.Bounce{MemberID: f.Ann.ID, Hard: true, Detail: "5.1.1 no such user"})
	must(t, err)
	m, _ = st.Member(ctx, f.Company.ID, f.Ann.ID)
	if m.BounceState != storage.BounceHard || m.EmailNotifications || m.BounceDetail != "5.1.1 no such user" {
		t.Errorf("after a hard bounce: %+v; want hard, notifications off, detail", m)
	}
	_, err = st.RecordBounce(ctx, f.Company.ID, storage.Bounce{MemberID: f.Ann.ID, Detail: "later soft"})
	must(t, err)
	if m, _ = st.Member(ctx, f.Company.ID, f.Ann.ID); m.BounceState != storage.BounceHard {
		t.Errorf("a soft bounce after a hard one changed the state to %q", m.BounceState)
	}
	_, err = st.RecordBounce(ctx, f.Company.ID, storage.Bounce{Email: "Stranger@x.example", Hard: true})
	must(t, err)
	_, err = st.RecordBounce(ctx, f.Company.ID, storage.Bounce{MemberID: 999999, Hard: true})
	wantErr(t, "RecordBounce(unknown member)", err, storage.ErrNotFound)
	bs, err := st.Bounces(ctx, f.Company.ID)
	must(t, err)
	if len(bs) != 4 || bs[0].Email != "stranger@x.example" || bs[0].MemberID != 0 || bs[1].Hard || !bs[2].Hard || bs[3].ID != soft.ID {
		t.Errorf("Bounces = %+v; want 4, newest first", bs)
	}
}
