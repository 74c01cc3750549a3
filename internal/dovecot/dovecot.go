// Package dovecot runs a private Dovecot IMAP server (Debian's
// dovecot-imapd) for the IMAP benchmarks and the conformance test, which
// compare the gateway with it.
package dovecot

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Server is a private Dovecot IMAP server (Debian's dovecot-imapd) on a
// loopback port, serving maildirs under its folder: the peer the IMAP
// figures are compared with.
type Server struct {
	Addr string
	dir  string
	cmd  *exec.Cmd
}

// User is one login and the maildir it reads.
type User struct {
	Name, Password, Maildir string
}

// Start writes a minimal configuration (plain LOGIN allowed on
// loopback, no TLS, maildir, indexes in dir) and starts dovecot -F.
func Start(dir string, users []User) (*Server, error) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		return nil, fmt.Errorf("dovecot is not installed (apt-get install dovecot-imapd): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	if u.Uid == "0" { // Dovecot never accesses mail as root
		if u, err = user.Lookup("nobody"); err != nil {
			return nil, err
		}
	}
	var pw strings.Builder
	for _, du := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s:%s:%s::%s::userdb_mail=maildir:%s\n", du.Name, du.Password, u.Uid, u.Gid, filepath.Join(dir, "home", du.Name), du.Maildir)
	}
	for _, d := range []string{"run", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// Dovecot's auth process runs as the dovecot user: it must reach the
	// (throwaway) password file.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	owned := []string{filepath.Join(dir, "home")}
	for _, du := range users {
		owned = append(owned, du.Maildir)
	}
	for _, root := range owned {
		err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return nil, fmt.Errorf("hand the maildirs to uid %d: %w", uid, err)
		}
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/run
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
protocol imap {
  mail_max_userip_connections = 2000
}
service imap {
  process_limit = 2000
}
default_client_limit = 5000
`, dir, port)
	cf := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	d := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
	d.cmd = exec.Command(bin, "-F", "-c", cf)
	logf, _ := os.Create(filepath.Join(dir, "stderr.log"))
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", d.Addr); err == nil {
			c.Close()
			return d, nil
		}
	}
	d.Stop()
	log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
	out, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
	return nil, fmt.Errorf("dovecot did not start:\n%s%s", out, log)
}

// Pid returns the master process id (its children serve the sessions).
func (d *Server) Pid() int { return d.cmd.Process.Pid }

// Stop ends dovecot and its children.
func (d *Server) Stop() {
	d.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
	}
}

// WriteMaildir creates a maildir holding msgs (raw RFC 5322 bytes, CRLF
// or LF), all unseen except those seen(i) says.
func WriteMaildir(dir string, n int, msg func(i int) []byte, seen func(i int) bool) error {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	base := time.Now().Unix() - int64(n)
	for i := range n {
		flags := ""
		if seen != nil && seen(i) {
			flags = "S"
		}
		b := msg(i)
		name := fmt.Sprintf("%d.M%dP%d.bench,S=%d:2,%s", base+int64(i), i, os.Getpid(), len(b), flags)
		if err := os.WriteFile(filepath.Join(dir, "cur", name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
