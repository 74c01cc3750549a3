package sqlstore

import (
	"context"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// BenchmarkFirstSync: the first IMAPSync of an INBOX over 100,000
// messages stored without IMAP (an import): it gives them all a UID.
func BenchmarkFirstSync(b *testing.B) {
	for _, driver := range Drivers() {
		b.Run(driver, func(b *testing.B) {
			ctx := context.Background()
			s := OpenTest(b, driver)
			f := storagetest.NewFixture(b, s, "bench")
			m, _, err := s.Deliver(ctx, storage.Delivery{NewThread: storage.Thread{TeamID: f.Acme.ID, Subject: "t"},
				Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID}})
			if err != nil {
				b.Fatal(err)
			}
			if err := fillMessages(ctx, s, f.Company.ID, []int64{m.ThreadID}, 100_000); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				mb, err := s.IMAPEnsureMailbox(ctx, f.Company.ID, storage.IMAPMailbox{Name: "INBOX" + string(rune('a'+i)), Filter: storage.FilterAll + ":" + string(rune('a'+i))})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				st, err := s.IMAPSync(ctx, f.Company.ID, mb.ID)
				if err != nil {
					b.Fatal(err)
				}
				if st.UIDNext < 100_000 {
					b.Fatalf("UIDNext %d after the first sync", st.UIDNext)
				}
			}
		})
	}
}
