package outbound

import (
	"context"
	"io"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// BenchmarkCompose measures composing and writing one email (no
// attachment): a campaign email, and a notification in a thread of 10
// messages, on each database.
//
//	go test -run '^$' -bench Compose -benchmem ./outbound
func BenchmarkCompose(b *testing.B) {
	for _, driver := range sqlstore.Drivers() {
		b.Run(driver, func(b *testing.B) {
			env := newComposeEnv(b, driver, "")
			f := env.f
			ctx := context.Background()
			_, err := env.st.CreateCampaign(ctx, storage.Campaign{CompanyID: f.Company.ID, StaffID: f.Admin.ID,
				Subject: "Spring offer", Body: "Dear partners,\n\n20% off."},
				[]storage.OutboundEmail{{MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: "c-ann@x"}})
			if err != nil {
				b.Fatal(err)
			}
			rows, err := env.st.Queue(ctx, f.Company.ID, storage.QueueQueued, 10)
			if err != nil || len(rows) != 1 {
				b.Fatal(len(rows), err)
			}
			campaignRow := rows[0]

			var thread int64
			var notifyRow storage.OutboundEmail
			for i := range 10 {
				d := storage.Delivery{ThreadID: thread,
					NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Acme.ID, Subject: "Talk"},
					Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID,
						MessageID: "m" + string(rune('a'+i)) + "@x", Subject: "Re: Talk", Text: "Some text of a message\nover two lines."}}
				if i%2 == 1 {
					d.Message.Direction, d.Message.AuthorMemberID, d.Message.AuthorStaffID = storage.DirectionOut, 0, f.Manager.ID
					d.Outbound = []storage.OutboundEmail{{CompanyID: f.Company.ID, MemberID: f.Ann.ID, Rcpt: f.Ann.Email, MessageID: "o" + d.Message.MessageID}}
				}
				m, _, err := env.st.Deliver(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				thread = m.ThreadID
				if len(d.Outbound) > 0 {
					notifyRow = d.Outbound[0]
				}
			}
			for _, tc := range []struct {
				name string
				row  storage.OutboundEmail
			}{{"campaign", campaignRow}, {"notification", notifyRow}} {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						em, err := env.c.Compose(ctx, tc.row)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := em.WriteTo(io.Discard); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
