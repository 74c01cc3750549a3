package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
)

func TestCampaign(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newPosterEnv(t, driver)
		f, ctx := e.f, context.Background()
		other := storagetest.NewFixture(t, e.st, "globex")
		queue, stop := e.hub.Subscribe(notify.Queue, f.Company.ID)
		defer stop()
		if err := e.st.SetGroupMessaging(ctx, f.Company.ID, f.Silver.ID, false, "Write to help@acme.example"); err != nil {
			t.Fatal(err)
		}
		campaign := func(groups ...string) (int, []storage.OutboundEmail, error) {
			t.Helper()
			before, err := e.st.Queue(ctx, f.Company.ID, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			n, err := e.p.Campaign(ctx, storage.Campaign{CompanyID: f.Company.ID, StaffID: f.Admin.ID,
				Subject: "News", Body: "Our autumn offers", Groups: groups})
			after, qerr := e.st.Queue(ctx, f.Company.ID, "", 1000)
			if qerr != nil {
				t.Fatal(qerr)
			}
			var added []storage.OutboundEmail
			for _, o := range after {
				if !slices.ContainsFunc(before, func(b storage.OutboundEmail) bool { return b.ID == o.ID }) {
					added = append(added, o)
				}
			}
			return n, added, err
		}
		emails := func(os []storage.OutboundEmail) []string {
			var out []string
			for _, o := range os {
				out = append(out, o.Rcpt)
			}
			slices.Sort(out)
			return out
		}

		// Every group, the disabled one (Silver) included; Eve's notifications are off.
		n, added, err := campaign()
		if want := []string{f.Ann.Email, f.Bob.Email, f.Sue.Email}; err != nil || n != 3 || !slices.Equal(emails(added), want) {
			t.Errorf("campaign to all groups = %d, %v, %v; want 3 to %v", n, emails(added), err, want)
		}
		ids := map[string]bool{}
		for _, o := range added {
			if o.CampaignID == 0 || o.MessageRowID != 0 || o.State != storage.QueueQueued || !o.ExpiresAt.Equal(e.now.Add(time.Hour)) || o.MessageID == "" {
				t.Errorf("campaign email %+v: want a queued campaign row expiring in an hour", o)
			}
			if ids[o.MessageID] {
				t.Errorf("Message-ID %s used twice", o.MessageID)
			}
			ids[o.MessageID] = true
		}
		if c, err := e.st.Campaign(ctx, f.Company.ID, added[0].CampaignID); err != nil || c.Subject != "News" || c.StaffID != f.Admin.ID || len(c.Groups) != 0 {
			t.Errorf("stored campaign = %+v, %v", c, err)
		}
		select {
		case <-queue:
		default:
			t.Error("no notify.Queue event after a campaign")
		}

		// Only the disabled group: its members still get the campaign.
		n, added, err = campaign("silver")
		if err != nil || n != 1 || !slices.Equal(emails(added), []string{f.Sue.Email}) {
			t.Errorf("campaign to the disabled group = %d, %v, %v; want Sue", n, emails(added), err)
		}
		if c, _ := e.st.Campaign(ctx, f.Company.ID, added[0].CampaignID); !slices.Equal(c.Groups, []string{"Silver"}) {
			t.Errorf("campaign groups = %v, want [Silver]", c.Groups)
		}

		// A hard bounce drops Bob; a repeated group counts once.
		if _, err := e.st.RecordBounce(ctx, f.Company.ID, storage.Bounce{MemberID: f.Bob.ID, Hard: true}); err != nil {
			t.Fatal(err)
		}
		if n, added, err = campaign("Gold", "gold"); err != nil || n != 1 || !slices.Equal(emails(added), []string{f.Ann.Email}) {
			t.Errorf("campaign to Gold after Bob's hard bounce = %d, %v, %v; want Ann", n, emails(added), err)
		}

		// Unknown group, another company's author: refused, nothing queued.
		if n, added, err = campaign("Platinum"); !errors.Is(err, storage.ErrNotFound) || n != 0 || len(added) != 0 {
			t.Errorf("campaign to an unknown group = %d, %d queued, %v; want ErrNotFound", n, len(added), err)
		}
		_, err = e.p.Campaign(ctx, storage.Campaign{CompanyID: f.Company.ID, StaffID: other.Admin.ID, Subject: "x"})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("campaign by another company's staff = %v, want ErrNotFound", err)
		}
		if q, _ := e.st.Queue(ctx, other.Company.ID, "", 100); len(q) != 0 {
			t.Errorf("the other company has %d queued emails, want 0", len(q))
		}
	})
}

// BenchmarkCampaign10k measures Poster.Campaign for 10,000 members: the
// audience query, 10,000 Message-IDs and the batched queue inserts.
//
//	PARTNERMAIL_TEST_POSTGRES=... go test -run '^$' -bench Campaign10k -benchtime 3x ./outbound/
func BenchmarkCampaign10k(b *testing.B) {
	for _, driver := range sqlstore.Drivers() {
		b.Run(driver, func(b *testing.B) {
			st := sqlstore.OpenTest(b, driver)
			ctx := context.Background()
			co, err := st.CreateCompany(ctx, storage.Company{Slug: "big", Name: "Big", FromAddr: "partners@big.example", Domains: []string{"partners.big.example"}})
			if err != nil {
				b.Fatal(err)
			}
			staff, err := st.CreateStaff(ctx, co.ID, storage.Staff{Email: "pm@big.example", Name: "PM", PasswordHash: "x"})
			if err != nil {
				b.Fatal(err)
			}
			for _, g := range []string{"Gold", "Silver"} {
				if _, err := st.CreateGroup(ctx, co.ID, g); err != nil {
					b.Fatal(err)
				}
			}
			rows := make([]storage.PartnerRow, 10000)
			for i := range rows {
				rows[i] = storage.PartnerRow{Line: i + 2, Team: fmt.Sprintf("Team %d", i/4), Group: []string{"Gold", "Silver"}[i/4%2],
					Status: storage.StatusApproved, MemberEmail: fmt.Sprintf("m%d@t%d.example", i, i/4), MemberName: "M", EmailNotifications: true}
			}
			if _, err := st.ImportPartners(ctx, co.ID, rows); err != nil {
				b.Fatal(err)
			}
			p, err := outbound.NewPoster(outbound.PosterConfig{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				n, err := p.Campaign(ctx, storage.Campaign{CompanyID: co.ID, StaffID: staff.ID, Subject: "News", Body: "Hello"})
				if err != nil || n != 10000 {
					b.Fatalf("Campaign = %d, %v; want 10000", n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/campaign")
		})
	}
}
