package smtpd

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/storage/storagetest"
	"github.com/partnermail/partnermail/threading"
)

// rcpt sends MAIL and RCPT only and returns the RCPT error.
func (e *testEnv) rcpt(from, to string) error {
	e.t.Helper()
	c, err := smtp.Dial(e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.partner.example"); err != nil {
		e.t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		e.t.Fatal(err)
	}
	err = c.Rcpt(to, nil)
	c.Quit()
	return err
}

func TestRcptRefusals(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		other := storagetest.NewFixture(t, e.store.Store, "beta") // a second company
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		reply := e.replyAddr(th, e.f.Ann)
		local, _, _ := threading.SplitAddress(reply)
		tok := strings.TrimPrefix(local, "reply+")
		forged := "reply+" + flipChar(tok, len(tok)/2) + "@" + e.domain
		ann := e.f.Ann.Email
		tests := []struct {
			name, from, to string
			code           int
			enh            smtp.EnhancedCode
			text           string
		}{
			{"unknown domain (no relay)", ann, "someone@elsewhere.example", 550, smtp.EnhancedCode{5, 7, 1}, "relaying denied"},
			{"unknown local part", ann, "sales@" + e.domain, 550, smtp.EnhancedCode{5, 1, 1}, "no such address"},
			{"forged token", ann, forged, 550, smtp.EnhancedCode{5, 1, 1}, "no such address"},
			{"garbage token", ann, "reply+zzzzzzzzzzzz@" + e.domain, 550, smtp.EnhancedCode{5, 1, 1}, "no such address"},
			{"token of another kind", ann, "campaign+" + tok + "@" + e.domain, 550, smtp.EnhancedCode{5, 1, 1}, "no such address"},
			{"valid token at another company's domain", ann, local + "@" + other.Company.Domains[0], 550, smtp.EnhancedCode{5, 1, 1}, "no such address"},
			{"thread+ is for staff", ann, e.address(threading.Token{Kind: threading.KindThread, ThreadID: th.ID}), 550, smtp.EnhancedCode{5, 7, 1}, "submission only"},
			{"team+ is for staff", ann, "team+acme-resellers@" + e.domain, 550, smtp.EnhancedCode{5, 7, 1}, "submission only"},
			{"unknown sender to the general address", "stranger@else.example", "partners@" + e.domain, 550, smtp.EnhancedCode{5, 7, 1}, "not a registered partner address"},
			{"null sender to the general address", "", "partners@" + e.domain, 550, smtp.EnhancedCode{5, 7, 1}, "null sender"},
		}
		for _, tt := range tests {
			err := e.rcpt(tt.from, tt.to)
			wantCode(t, tt.name, err, tt.code, tt.enh, tt.text)
		}
		// And what is accepted at RCPT.
		for _, to := range []string{reply, strings.ToUpper(reply), "partners@" + strings.ToUpper(e.domain), "Partners@" + e.domain} {
			if err := e.rcpt(ann, to); err != nil {
				t.Errorf("RCPT %s from %s = %v, want accepted", to, ann, err)
			}
		}
	})
}

// TestDisabledGroupRedirect is the seed's core rule: a partner in a group
// with messaging disabled gets the group's redirect text, line for line,
// whatever address they write to.
func TestDisabledGroupRedirect(t *testing.T) {
	const redirect = "Messaging with Acme is paused for Gold partners.\r\n" +
		"Please write to support@acme.example\n" +
		"or open https://acme.example/help?topic=partners&lang=en\r\n" +
		"\r\n" +
		"Thank you, the Acme partner team"
	want := strings.ReplaceAll(redirect, "\r\n", "\n")
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		solo, _ := e.staffThread(e.f.Solo, wholeTeam)
		ctx := context.Background()
		if err := e.store.SetGroupMessaging(ctx, e.f.Company.ID, e.f.Gold.ID, false, redirect); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, from, to string }{
			{"reply token", e.f.Ann.Email, e.replyAddr(th, e.f.Ann)},
			{"campaign token", e.f.Ann.Email, e.address(threading.Token{Kind: threading.KindCampaign, CampaignID: 1, MemberID: e.f.Ann.ID})},
			{"general address", e.f.Bob.Email, "partners@" + e.domain},
		} {
			err := e.rcpt(tc.from, tc.to)
			se := wantCode(t, tc.name, err, 550, smtp.EnhancedCode{5, 7, 1})
			if se != nil && se.Message != want {
				t.Errorf("%s: reply text = %q, want the redirect text byte for byte: %q", tc.name, se.Message, want)
			}
		}
		// Silver is unaffected.
		if err := e.send(e.f.Sue.Email, []string{e.replyAddr(solo, e.f.Sue)}, mail(e.f.Sue.Email, "x", "Re: Q4", "Fine.")); err != nil {
			t.Errorf("Sue (Silver) = %v, want accepted", err)
		}
		// Enabled again: Ann gets through.
		if err := e.store.SetGroupMessaging(ctx, e.f.Company.ID, e.f.Gold.ID, true, redirect); err != nil {
			t.Fatal(err)
		}
		if err := e.send(e.f.Ann.Email, []string{e.replyAddr(th, e.f.Ann)}, mail(e.f.Ann.Email, "x", "Re: Q4", "Back.")); err != nil {
			t.Errorf("Ann after enable = %v, want accepted", err)
		}
	})
}

// flipChar changes the base32 character at i, as a forger would.
func flipChar(s string, i int) string {
	c := byte('a')
	if s[i] == 'a' {
		c = 'b'
	}
	return s[:i] + string(c) + s[i+1:]
}
