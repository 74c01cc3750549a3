package smtpd

import (
	"context"
	"testing"

	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// subTestPoster stands in for outbound.Poster until it lands.
func subTestPoster(t *testing.T, st *sqlstore.Store) Poster { return subFakePoster{st} }

type subFakePoster struct{ st *sqlstore.Store }

func (p subFakePoster) Post(ctx context.Context, post outbound.Post) (storage.Message, bool, error) {
	m := post.Message
	m.CompanyID, m.Direction, m.AuthorStaffID = post.CompanyID, storage.DirectionOut, post.StaffID
	d := storage.Delivery{ThreadID: post.ThreadID, Message: m}
	if post.ThreadID == 0 {
		d.NewThread = storage.Thread{CompanyID: post.CompanyID, TeamID: post.TeamID, MemberID: post.MemberID, Subject: m.Subject}
	}
	return p.st.Deliver(ctx, d)
}
