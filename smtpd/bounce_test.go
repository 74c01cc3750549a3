package smtpd

import (
	"context"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/threading"
)

// dsn is a delivery status notification (RFC 3464) for rcpt.
func dsn(to, rcpt, action, status, diag string) string {
	return "From: Mail Delivery System <MAILER-DAEMON@mx.reseller.example>\r\nTo: " + to + "\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce." + status + "@mx.reseller.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n" +
		"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.reseller.example\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: " + action + "\r\nStatus: " + status + "\r\n" +
		"Diagnostic-Code: smtp; " + diag + "\r\n" +
		"--r\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Q4 pricing\r\n--r--\r\n"
}

func TestBounce(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		ctx := context.Background()
		before := e.snapshot()
		soft := e.address(threading.Token{Kind: threading.KindBounce, EmailID: 1, MemberID: e.f.Bob.ID})
		if err := e.send("", []string{soft}, dsn(soft, e.f.Bob.Email, "delayed", "4.2.2", "452 4.2.2 mailbox full")); err != nil {
			t.Fatalf("soft bounce = %v", err)
		}
		hard := e.address(threading.Token{Kind: threading.KindBounce, EmailID: 2, MemberID: e.f.Ann.ID})
		if err := e.send("", []string{hard}, dsn(hard, e.f.Ann.Email, "failed", "5.1.1", "550 5.1.1 user unknown")); err != nil {
			t.Fatalf("hard bounce = %v", err)
		}
		ann, _ := e.store.Member(ctx, e.f.Company.ID, e.f.Ann.ID)
		if ann.EmailNotifications || ann.BounceState != storage.BounceHard {
			t.Errorf("Ann after a hard bounce = %+v, want notifications off, bounce state hard", ann)
		}
		bob, _ := e.store.Member(ctx, e.f.Company.ID, e.f.Bob.ID)
		if !bob.EmailNotifications || bob.BounceState != storage.BounceSoft {
			t.Errorf("Bob after a soft bounce = %+v, want notifications on, bounce state soft", bob)
		}
		bs, err := e.store.Bounces(ctx, e.f.Company.ID)
		if err != nil || len(bs) != 2 {
			t.Fatalf("Bounces = %+v, %v", bs, err)
		}
		// Not a bounce at all: accepted and dropped, nothing recorded.
		if err := e.send("", []string{hard}, mail("someone@else.example", hard, "hello", "not a bounce")); err != nil {
			t.Errorf("non-DSN to bounce+ = %v, want accepted", err)
		}
		if bs, _ := e.store.Bounces(ctx, e.f.Company.ID); len(bs) != 2 {
			t.Errorf("%d bounces after a non-DSN, want 2", len(bs))
		}
		e.nothingStored("bounces keep no message", before)
	})
}

func TestUnsubscribe(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		before := e.snapshot()
		to := e.address(threading.Token{Kind: threading.KindUnsubscribe, MemberID: e.f.Ann.ID})
		// Mail providers send List-Unsubscribe mail from their own addresses.
		if err := e.send("unsubscribe@provider.example", []string{to}, mail("unsubscribe@provider.example", to, "unsubscribe", "")); err != nil {
			t.Fatal(err)
		}
		ann, _ := e.store.Member(context.Background(), e.f.Company.ID, e.f.Ann.ID)
		if ann.EmailNotifications {
			t.Error("Ann's notifications are still on")
		}
		e.nothingStored("unsubscribe keeps no message", before)
	})
}
