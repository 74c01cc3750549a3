package smtpd

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// subPythonScript logs in with AUTH LOGIN (forced: smtplib would pick
// PLAIN) after STARTTLS, sends one message to two recipients of which one
// is refused, tries a relay, and prints what the server answered as JSON.
const subPythonScript = `
import json, smtplib, ssl, sys
host, port, user, pw, good, bad = sys.argv[1:7]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}
s = smtplib.SMTP(host, int(port))
s.starttls(context=ctx)
s.ehlo()
out["auth"] = s.esmtp_features.get("auth", "")
s.user, s.password = user, pw
code, resp = s.auth("LOGIN", s.auth_login)
out["login"] = code
msg = ("From: Pat <%s>\r\nTo: %s\r\nSubject: From Python\r\nMessage-ID: <py-1@client.test>\r\n\r\nHi from smtplib\r\n" % (user, good))
try:
    refused = s.sendmail(user, [good, bad], msg)
    out["refused"] = {k: [v[0], v[1].decode()] for k, v in refused.items()}
except smtplib.SMTPException as e:
    out["error"] = repr(e)
try:
    s.sendmail(user, ["stranger@example.org"], msg)
except smtplib.SMTPRecipientsRefused as e:
    out["relay"] = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}
s.quit()
print(json.dumps(out))
`

func TestSubmissionPythonSmtplib(t *testing.T) {
	py := testenv.NeedCommand(t, "python3", "python3")
	e := newSubEnv(t, sqlstore.SQLite, subOpts{secure: true})
	host, port, _ := strings.Cut(e.addr, ":")
	team := "team+" + e.f.Acme.Slug + "@" + e.f.Company.Domains[0]
	out, err := exec.Command(py, "-c", subPythonScript, host, port, e.f.Manager.Email, subPassword, team, "nobody@example.net").CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var got struct {
		Auth    string
		Login   int
		Refused map[string][2]any
		Relay   map[string][2]any
		Error   string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python3 output %q: %v", out, err)
	}
	if strings.TrimSpace(got.Auth) != "PLAIN LOGIN" || got.Login != 235 || got.Error != "" {
		t.Fatalf("python3: %+v", got)
	}
	if r := got.Refused["nobody@example.net"]; r[0] != 550.0 || !strings.Contains(r[1].(string), "not a partner of this program") {
		t.Errorf("refused = %v, want the outsider refused with 550 not a partner", got.Refused)
	}
	if r := got.Relay["stranger@example.org"]; r[0] != 550.0 || !strings.Contains(r[1].(string), "does not relay") {
		t.Errorf("relay attempt = %v, want 550 does not relay", got.Relay)
	}
	var n int
	for th, ms := range e.threadsOf(t, e.f.Company.ID) {
		if th.TeamID != e.f.Acme.ID || len(ms) != 1 || ms[0].Direction != storage.DirectionOut || ms[0].Text != "Hi from smtplib" {
			t.Errorf("thread %+v: %+v", th, ms)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d threads, want 1", n)
	}
}
