package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/config"
	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// End-to-end tests of issue 4 against a real `partnermail serve` process:
// a staff message is captured as an email, a partner answers its Reply-To
// with swaks, the answer lands in the same thread; a campaign reply from a
// member of a disabled group is refused with the redirect text; a process
// killed mid-campaign delivers every email after its restart.

// openConf opens the database of conf, for assertions.
func openConf(t *testing.T, conf string) *sqlstore.Store {
	t.Helper()
	c, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{Driver: c.Storage.Driver, DSN: c.Storage.DSN, DataDir: c.Storage.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// captured is one .eml file of the outbox.
type captured struct {
	path string
	msg  *mail.Message
	body string
}

// outbox reads every captured email under dir/outbox.
func outbox(t *testing.T, dir string) []captured {
	t.Helper()
	var out []captured
	filepath.WalkDir(filepath.Join(dir, "outbox"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".eml") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			return nil // still being written
		}
		body, _ := readAll(m)
		out = append(out, captured{path: p, msg: m, body: body})
		return nil
	})
	return out
}

func readAll(m *mail.Message) (string, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(m.Body)
	return b.String(), err
}

// emailTo waits for the captured email to rcpt whose Subject contains subj.
func emailTo(t *testing.T, dir, rcpt, subj string) captured {
	t.Helper()
	var found captured
	waitFor(t, time.Minute, "an email to "+rcpt+" about "+subj, func() bool {
		for _, c := range outbox(t, dir) {
			if strings.Contains(strings.ToLower(c.msg.Header.Get("To")), rcpt) && strings.Contains(decodedSubject(c.msg), subj) {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

func decodedSubject(m *mail.Message) string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// replyTo returns the bare address of an email's Reply-To.
func replyTo(t *testing.T, c captured) string {
	t.Helper()
	a, err := mail.ParseAddress(c.msg.Header.Get("Reply-To"))
	if err != nil {
		t.Fatalf("%s: Reply-To %q: %v", c.path, c.msg.Header.Get("Reply-To"), err)
	}
	return a.Address
}

// swaks sends one partner email to the inbound listener at addr and
// returns swaks's transcript and whether the message was accepted.
func swaks(t *testing.T, addr, from, to string, headers []string, body string) (string, bool) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"--server", host, "--port", port, "--from", from, "--to", to, "--body", body, "--hide-informational"}
	for _, h := range headers {
		args = append(args, "--header", h)
	}
	cmd := exec.Command(testenv.NeedCommand(t, "swaks", "swaks"), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// e2eSetup creates acme: staff Pat, group Resellers (Northwind: Ana with
// notifications, Bo without) and group Affiliates (Fabrikam: Di), with
// messaging disabled for Affiliates.
func e2eSetup(t *testing.T, conf string) {
	t.Helper()
	pm(t, conf, "", "company", "add", "--slug", "acme", "--name", "Acme", "--domain", "partners.acme.example")
	pm(t, conf, "long-password-1\n", "staff", "add", "--company", "acme", "--email", "pat@acme.example", "--name", "Pat Manager")
	pm(t, conf, "", "group", "add", "--company", "acme", "--name", "Resellers")
	pm(t, conf, "", "group", "add", "--company", "acme", "--name", "Affiliates")
	csv := filepath.Join(t.TempDir(), "p.csv")
	os.WriteFile(csv, []byte(header+
		"Northwind,Resellers,pat@acme.example,approved,ana@northwind.example,Ana Lima,true\n"+
		"Northwind,Resellers,pat@acme.example,approved,bo@northwind.example,Bo,false\n"+
		"Fabrikam,Affiliates,,approved,di@fabrikam.example,Di,true\n"), 0o600)
	pm(t, conf, "", "partner", "import", "--company", "acme", csv)
	pm(t, conf, "", "group", "disable", "--company", "acme", "--group", "Affiliates",
		"--message", "Please write to support@acme.example or open https://acme.example/help")
}

func TestE2EMessageReplyAndCampaign(t *testing.T) {
	testenv.NeedCommand(t, "swaks", "swaks")
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			var dsn string
			if driver == "postgres" {
				dsn = pgSchema(t)
			}
			e2eMessageReplyAndCampaign(t, dsn)
		})
	}
}

func e2eMessageReplyAndCampaign(t *testing.T, dsn string) {
	dir := t.TempDir()
	conf := procConfig(t, dir, dsn, "", "")
	e2eSetup(t, conf)
	p := startProc(t, conf)
	smtpAddr := p.addr(t, "smtp")

	// A staff message to the team and a campaign to every group, sent
	// while the gateway runs. (With SQLite the worker finds them on its
	// next poll, with PostgreSQL the CLI wakes it.)
	body := filepath.Join(dir, "body.txt")
	os.WriteFile(body, []byte("Hello Northwind,\n\nour new price list is out.\n\nPat\n"), 0o600)
	out := pm(t, conf, "", "message", "send", "--company", "acme", "--team", "Northwind",
		"--from", "pat@acme.example", "--subject", "Price list 2027", "--body-file", body)
	tid, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("message send printed %q, want a thread id", out)
	}
	camp := filepath.Join(dir, "campaign.txt")
	os.WriteFile(camp, []byte("Our autumn offers are here.\n"), 0o600)
	if n := strings.TrimSpace(pm(t, conf, "", "campaign", "send", "--company", "acme", "--from", "pat@acme.example",
		"--subject", "Autumn offers", "--body-file", camp)); n != "2" {
		t.Errorf("campaign send printed %q, want 2 (Ana and Di)", n)
	}

	// One notification (Bo's notifications are off).
	note := emailTo(t, dir, "ana@northwind.example", "Price list 2027")
	reply := replyTo(t, note)
	if !strings.HasPrefix(reply, "reply+") || !strings.HasSuffix(reply, "@partners.acme.example") {
		t.Errorf("notification Reply-To = %q, want reply+TOKEN@partners.acme.example", reply)
	}

	// Ana answers from her mail client: the reply joins the thread.
	tr, ok := swaks(t, smtpAddr, "ana@northwind.example", reply, []string{
		"Subject: Re: Price list 2027",
		"In-Reply-To: " + note.msg.Header.Get("Message-Id"),
		"References: " + note.msg.Header.Get("Message-Id"),
	}, "Thanks Pat, received!\n\nOn Wed, Pat Manager wrote:\n> our new price list is out.\n")
	if !ok {
		t.Fatalf("partner reply refused:\n%s", tr)
	}

	// Di (disabled group) received the campaign, but her reply is refused
	// with the redirect text; Ana's campaign reply is accepted.
	di := emailTo(t, dir, "di@fabrikam.example", "Autumn offers")
	diReply := replyTo(t, di)
	if !strings.HasPrefix(diReply, "campaign+") {
		t.Errorf("campaign Reply-To = %q, want campaign+TOKEN@...", diReply)
	}
	tr, ok = swaks(t, smtpAddr, "di@fabrikam.example", diReply, []string{"Subject: Re: Autumn offers"}, "I am interested.\n")
	if ok || !strings.Contains(tr, "550") || !strings.Contains(tr, "Please write to support@acme.example") {
		t.Errorf("reply from a disabled group's member: accepted=%v, want 550 with the redirect text:\n%s", ok, tr)
	}
	anaCamp := emailTo(t, dir, "ana@northwind.example", "Autumn offers")
	tr, ok = swaks(t, smtpAddr, "ana@northwind.example", replyTo(t, anaCamp), []string{"Subject: Re: Autumn offers"}, "Count me in.\n")
	if !ok {
		t.Errorf("campaign reply from an enabled group refused:\n%s", tr)
	}
	p.stop()

	s := openConf(t, conf)
	ctx := context.Background()
	co, err := s.CompanyBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.ThreadMessages(ctx, co.ID, tid)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("thread %d has %d messages (%v), want the staff message and Ana's reply", tid, len(msgs), err)
	}
	if r := msgs[1]; r.Direction != storage.DirectionIn || r.FromAddr != "ana@northwind.example" || !strings.Contains(r.Text, "Thanks Pat, received!") || strings.Contains(r.Text, "price list is out") {
		t.Errorf("reply stored as %+v, want Ana's text without the quote", r)
	}
	threads, _ := s.Threads(ctx, co.ID)
	var campaignThreads int
	for _, th := range threads {
		if th.CampaignID != 0 {
			campaignThreads++
			if m, _ := s.Member(ctx, co.ID, th.MemberID); m.Email != "ana@northwind.example" {
				t.Errorf("campaign thread with %s, want Ana only", m.Email)
			}
		}
	}
	if campaignThreads != 1 {
		t.Errorf("%d campaign threads, want 1 (Ana's)", campaignThreads)
	}
}

// TestE2ECampaignCrash kills `partnermail serve` (SIGKILL) in the middle
// of a 1,000-email campaign relayed to a counting sink, restarts it, and
// checks that every email arrives; duplicates (emails the sink accepted
// whose outcome the killed process had not yet recorded) are reported.
func TestE2ECampaignCrash(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			var dsn string
			if driver == "postgres" {
				dsn = pgSchema(t)
			}
			e2eCampaignCrash(t, dsn)
		})
	}
}

func e2eCampaignCrash(t *testing.T, dsn string) {
	const members = 1000
	k := newSink(t)
	dir := t.TempDir()
	// A rate keeps the campaign running long enough to be killed mid-way.
	host, port, _ := strings.Cut(k.addr, ":")
	conf := procConfig(t, dir, dsn, "", fmt.Sprintf("[outbound]\nmode = \"relay\"\nrate = 250.0\n"+
		"[outbound.relay]\nhost = %q\nport = %s\ntls_mode = \"none\"\n", host, port))
	pm(t, conf, "", "company", "add", "--slug", "acme", "--name", "Acme", "--domain", "partners.acme.example")
	pm(t, conf, "long-password-1\n", "staff", "add", "--company", "acme", "--email", "pat@acme.example", "--name", "Pat")
	pm(t, conf, "", "group", "add", "--company", "acme", "--name", "Resellers")
	var csv strings.Builder
	csv.WriteString(header)
	for i := range members {
		fmt.Fprintf(&csv, "Team %d,Resellers,,approved,m%04d@t%d.example,Member %d,true\n", i/5, i, i/5, i)
	}
	csvPath := filepath.Join(dir, "p.csv")
	os.WriteFile(csvPath, []byte(csv.String()), 0o600)
	pm(t, conf, "", "partner", "import", "--company", "acme", csvPath)
	body := filepath.Join(dir, "body.txt")
	os.WriteFile(body, []byte("News for all partners.\n"), 0o600)

	// Queued before the gateway starts, so its worker claims at once
	// (a running SQLite gateway would find it on its next poll).
	if n := strings.TrimSpace(pm(t, conf, "", "campaign", "send", "--company", "acme", "--from", "pat@acme.example",
		"--subject", "News", "--body-file", body)); n != strconv.Itoa(members) {
		t.Fatalf("campaign send printed %q, want %d", n, members)
	}
	p := startProc(t, conf)
	waitFor(t, time.Minute, "a third of the campaign", func() bool { return k.total() >= members/3 })
	p.kill()
	atKill := k.total()
	if atKill >= members {
		t.Fatalf("the campaign was complete (%d emails) before the kill; lower outbound.rate", atKill)
	}
	t.Logf("SIGKILL after %d of %d emails", atKill, members)

	// The emails the killed process had claimed stay leased (10 minutes)
	// so that no other process sends them meanwhile. Instead of waiting
	// out the lease, make them due now, as `queue retry` would. With
	// PostgreSQL a claim the process sent just before dying may commit a
	// moment later, so leases older than the restart are expired again
	// while waiting.
	restart := time.Now()
	s := openConf(t, conf)
	leased := expireDeadLeases(t, s, restart)
	if dsn == "" {
		s.Close() // SQLite: the killed process's writes are all on disk
	}
	p = startProc(t, conf)
	waitFor(t, time.Minute, "every email after the restart", func() bool {
		byID, _ := k.counts()
		if len(byID) < members && dsn != "" {
			leased += expireDeadLeases(t, s, restart)
		}
		return len(byID) >= members
	})
	p.stop()
	t.Logf("%d emails were leased by the killed process", leased)
	byID, byRcpt := k.counts()
	dups := 0
	for _, n := range byID {
		dups += n - 1
	}
	if len(byRcpt) != members {
		t.Errorf("%d distinct recipients, want %d", len(byRcpt), members)
	}
	t.Logf("campaign of %d emails, SIGKILL after %d: all delivered after restart, %d duplicates (%d accepted in all, %d leased at the kill)",
		members, atKill, dups, k.total(), leased)
	if dups > leased {
		t.Errorf("%d duplicates, more than the %d emails in flight at the kill", dups, leased)
	}
	s = openConf(t, conf)
	co, _ := s.CompanyBySlug(context.Background(), "acme")
	if q, _ := s.Queue(context.Background(), co.ID, storage.QueueQueued, 10); len(q) != 0 {
		t.Errorf("%d emails still queued after every delivery", len(q))
		for _, e := range q {
			t.Logf("still queued: %+v (sink got it %d times)", e, byID[e.MessageID])
		}
		t.Logf("gateway log:\n%s", p.stderr.String())
	}
}

// expireDeadLeases makes every queued email claimed before the restart whose
// lease has not ended due now, and returns how many it changed. A claim
// sets the row's update time, so the restarted process's claims are never
// touched.
func expireDeadLeases(t *testing.T, s *sqlstore.Store, restart time.Time) int {
	t.Helper()
	ctx := context.Background()
	co, err := s.CompanyBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.Queue(ctx, co.ID, storage.QueueQueued, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range q {
		if e.NextAttemptAt.After(time.Now()) && e.UpdatedAt.Before(restart) {
			if err := s.RetryEmail(ctx, co.ID, e.ID); err != nil {
				if errors.Is(err, storage.ErrInvalid) {
					continue // sent after all: the dead process's last commit landed since the listing
				}
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}
