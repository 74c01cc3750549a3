package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestImportLarge imports 10,000 members in 2,000 teams, then again with
// every member changed, and logs the times.
func TestImportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-member import in -short mode")
	}
	EachDriver(t, func(t *testing.T, driver string) {
		s := OpenTest(t, driver)
		ctx := context.Background()
		f := storagetest.NewFixture(t, s, "a")
		rows := make([]storage.PartnerRow, 10_000)
		for i := range rows {
			rows[i] = storage.PartnerRow{Line: i + 2, Team: fmt.Sprintf("Team %d", i/5), Group: "Gold", Manager: f.Manager.Email,
				Status: "approved", MemberEmail: fmt.Sprintf("m%d@p%d.example", i, i/5), MemberName: fmt.Sprint("Member ", i), EmailNotifications: true}
		}
		start := time.Now()
		res, err := s.ImportPartners(ctx, f.Company.ID, rows)
		if err != nil || res.MembersCreated != 10_000 || res.TeamsCreated != 2000 {
			t.Fatalf("ImportPartners = %+v, %v", res, err)
		}
		first := time.Since(start)
		for i := range rows {
			rows[i].MemberName += " (renamed)"
		}
		start = time.Now()
		res, err = s.ImportPartners(ctx, f.Company.ID, rows)
		if err != nil || res.MembersUpdated != 10_000 || res.MembersCreated != 0 {
			t.Fatalf("re-import = %+v, %v", res, err)
		}
		t.Logf("%s: 10,000 members: import %v, re-import with changes %v", driver, first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})
}
