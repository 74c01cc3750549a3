package imapd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// TestPythonImaplib walks LIST, SELECT, FETCH, SEARCH and STORE with
// Python's imaplib (testdata/imaplib_walk.py).
func TestPythonImaplib(t *testing.T) {
	py := testenv.NeedCommand(t, "python3", "python3")
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		e.deliver(f, f.Acme, f.Ann, "Question about pricing", "What does it cost?")
		e.deliver(f, f.Acme, f.Bob, "Numbers", "Our budget is small.")
		e.deliver(f, f.Solo, f.Sue, "Hello", "Greetings from Silver.")
		host, port := hostPort(t, e.addr)
		out, err := exec.Command(py, "testdata/imaplib_walk.py", host, port, f.Admin.Email, testPassword).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "DONE") {
			t.Fatalf("imaplib_walk.py: %v\n%s", err, out)
		}
	})
}

// TestMbsync syncs INBOX and Unread to a local maildir twice: the second
// run finds nothing new.
func TestMbsync(t *testing.T) {
	mbsync := testenv.NeedCommand(t, "mbsync", "isync")
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		for i := 0; i < 5; i++ {
			e.deliver(f, f.Acme, f.Ann, fmt.Sprintf("Message %d", i), "body")
		}
		dir := t.TempDir()
		host, port := hostPort(t, e.addr)
		conf := filepath.Join(dir, "mbsyncrc")
		maildir := filepath.Join(dir, "mail")
		if err := os.MkdirAll(maildir, 0o700); err != nil {
			t.Fatal(err)
		}
		writeMbsyncConf(t, conf, host, port, f.Admin.Email, testPassword, maildir)
		run := func() string {
			t.Helper()
			cmd := exec.Command(mbsync, "-c", conf, "-V", "-a")
			cmd.Env = append(os.Environ(), "HOME="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("mbsync: %v\n%s", err, out)
			}
			return string(out)
		}
		run()
		count := func(box string) int {
			t.Helper()
			ents, err := os.ReadDir(filepath.Join(maildir, box, "cur"))
			if err != nil {
				t.Fatal(err)
			}
			news, _ := os.ReadDir(filepath.Join(maildir, box, "new"))
			return len(ents) + len(news)
		}
		if n := count("INBOX"); n != 5 {
			t.Errorf("maildir INBOX holds %d messages after the first sync, want 5", n)
		}
		if n := count("Unread"); n != 5 {
			t.Errorf("maildir Unread holds %d messages after the first sync, want 5", n)
		}
		before := listing(t, maildir)
		out := run()
		if after := listing(t, maildir); after != before {
			t.Errorf("second mbsync run changed the maildir:\nbefore:\n%s\nafter:\n%s\n%s", before, after, out)
		}
		if n := count("INBOX"); n != 5 {
			t.Errorf("maildir INBOX holds %d messages after the second sync, want 5", n)
		}
	})
}

func writeMbsyncConf(t *testing.T, path, host, port, user, pass, maildir string) {
	t.Helper()
	conf := fmt.Sprintf(`IMAPAccount pm
Host %s
Port %s
User %s
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account pm

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel pm
Far :remote:
Near :local:
Patterns INBOX Unread
Create Near
Sync Pull
SyncState *
`, host, port, user, pass, maildir, maildir)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
}

// listing names every file of a maildir tree except mbsync's own state.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasPrefix(d.Name(), ".mbsync") && !strings.HasPrefix(d.Name(), ".uidvalidity") {
			rel, _ := filepath.Rel(dir, p)
			b.WriteString(rel + "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
