package smtpd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// swaks runs swaks against the test server and returns its transcript
// and whether it exited 0.
func (e *testEnv) swaks(args ...string) (string, bool) {
	e.t.Helper()
	bin := testenv.NeedCommand(e.t, "swaks", "swaks")
	args = append([]string{"--server", e.addr, "--helo", "mx.partner.example", "--timeout", "60"}, args...)
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		e.t.Fatalf("swaks: %v", err)
	}
	return out.String(), err == nil
}

// serverReply collects the reply swaks printed for a failed command
// ("<** 550-5.7.1 text" lines) and returns its text, one line per reply
// line, with code and enhanced code removed.
var swaksErrLine = regexp.MustCompile(`^<\*\* (\d{3})[ -](\d\.\d{1,3}\.\d{1,3}) ?(.*)$`)

func serverReply(transcript, code string) string {
	var lines []string
	for _, l := range strings.Split(transcript, "\n") {
		m := swaksErrLine.FindStringSubmatch(strings.TrimRight(l, "\r"))
		if m != nil && m[1] == code {
			lines = append(lines, m[3])
		}
	}
	return strings.Join(lines, "\n")
}

func TestSwaksPartnerReplyWithPDF(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, staffID := e.staffThread(e.f.Acme, wholeTeam)
		dir := t.TempDir()
		pdf := pdfBytes(300_000)
		body := filepath.Join(dir, "reply.txt")
		file := filepath.Join(dir, "signed-contract.pdf")
		os.WriteFile(body, []byte(annReply), 0o600)
		os.WriteFile(file, pdf, 0o600)
		out, ok := e.swaks("--from", e.f.Ann.Email, "--to", e.replyAddr(th, e.f.Ann),
			"--header", "Subject: Re: Q4 pricing", "--header", "In-Reply-To: <"+staffID+">",
			"--body", body, "--attach-type", "application/pdf", "--attach", file)
		if !ok {
			t.Fatalf("swaks failed:\n%s", out)
		}
		ms := e.messages(th.ID)
		if len(ms) != 2 {
			t.Fatalf("thread has %d messages, want 2\n%s", len(ms), out)
		}
		m := ms[1]
		if m.Text != "Friday works for us, contract attached.\n\nAnn" || m.AuthorMemberID != e.f.Ann.ID || m.InReplyTo != staffID {
			t.Errorf("message = %+v", m)
		}
		if len(m.Attachments) != 1 || m.Attachments[0].Filename != "signed-contract.pdf" ||
			m.Attachments[0].ContentType != "application/pdf" || !bytes.Equal(e.readBlob(m.Attachments[0].BlobKey), pdf) {
			t.Errorf("attachments = %+v", m.Attachments)
		}
	})
}

func TestSwaksDisabledGroupRedirect(t *testing.T) {
	const redirect = "Messaging with Acme is paused for Gold partners.\r\n" +
		"Please write to support@acme.example\r\n" +
		"or open https://acme.example/help?topic=partners&lang=en"
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		th, _ := e.staffThread(e.f.Acme, wholeTeam)
		if err := e.store.SetGroupMessaging(context.Background(), e.f.Company.ID, e.f.Gold.ID, false, redirect); err != nil {
			t.Fatal(err)
		}
		for _, to := range []string{e.replyAddr(th, e.f.Ann), "partners@" + e.domain} {
			out, ok := e.swaks("--from", e.f.Ann.Email, "--to", to, "--body", "Hello?")
			if ok {
				t.Fatalf("swaks to %s succeeded, want 550:\n%s", to, out)
			}
			got, want := serverReply(out, "550"), strings.ReplaceAll(redirect, "\r\n", "\n")
			if got != want {
				t.Errorf("to %s: the partner sees\n%q\nwant the redirect text byte for byte\n%q\ntranscript:\n%s", to, got, want, out)
			} else if testing.Verbose() {
				t.Logf("swaks transcript:\n%s", out)
			}
		}
		if n := len(e.messages(th.ID)); n != 1 {
			t.Errorf("thread has %d messages, want only the staff one", n)
		}
	})
}
