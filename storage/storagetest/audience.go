package storagetest

import (
	"context"
	"slices"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// RunAudience checks Audience: the members that receive email, by group,
// including groups with messaging disabled, never another company's.
func RunAudience(t *testing.T, open Opener) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	a := NewFixture(t, st, "a")
	b := NewFixture(t, st, "b")
	emails := func(groups ...int64) []string {
		t.Helper()
		ms, err := st.Audience(ctx, a.Company.ID, groups)
		if err != nil {
			t.Fatalf("Audience(%v): %v", groups, err)
		}
		var out []string
		for _, m := range ms {
			if m.CompanyID != a.Company.ID {
				t.Errorf("Audience(%v) returned %s of company %d", groups, m.Email, m.CompanyID)
			}
			out = append(out, m.Email)
		}
		slices.Sort(out)
		return out
	}
	check := func(what string, got []string, want ...storage.Member) {
		t.Helper()
		var w []string
		for _, m := range want {
			w = append(w, m.Email)
		}
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s: Audience = %v, want %v", what, got, w)
		}
	}
	// Eve's notifications are off: she is never in the audience.
	check("all groups", emails(), a.Ann, a.Bob, a.Sue)
	check("gold", emails(a.Gold.ID), a.Ann, a.Bob)
	check("gold+silver", emails(a.Gold.ID, a.Silver.ID), a.Ann, a.Bob, a.Sue)
	check("B's group with A's company", emails(b.Gold.ID))

	must(t, st.SetGroupMessaging(ctx, a.Company.ID, a.Silver.ID, false, "Write to help@a.example"))
	check("silver disabled", emails(a.Silver.ID), a.Sue)

	_, err := st.RecordBounce(ctx, a.Company.ID, storage.Bounce{MemberID: a.Sue.ID, Detail: "4.2.2 mailbox full"})
	must(t, err)
	check("soft bounce", emails(a.Silver.ID), a.Sue)
	_, err = st.RecordBounce(ctx, a.Company.ID, storage.Bounce{MemberID: a.Bob.ID, Hard: true, Detail: "5.1.1 no such user"})
	must(t, err)
	check("hard bounce", emails(), a.Ann, a.Sue)
	must(t, st.SetMemberNotifications(ctx, a.Company.ID, a.Ann.ID, false))
	check("notifications off", emails(a.Gold.ID))

	// B's audience is untouched by A's changes.
	ms, err := st.Audience(ctx, b.Company.ID, nil)
	must(t, err)
	if len(ms) != 3 {
		t.Errorf("B's audience has %d members, want 3", len(ms))
	}
}
