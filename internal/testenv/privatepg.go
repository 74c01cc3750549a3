package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// PrivatePostgres is a PostgreSQL server of one test: its own data folder
// and port, so stopping it disturbs no other test.
type PrivatePostgres struct {
	t    testing.TB
	bin  string // folder of initdb, pg_ctl
	dir  string // data folder
	port int
	as   string // run the programs as this user (root may not run PostgreSQL)
}

// StartPrivatePostgres runs initdb into a temporary folder and starts
// PostgreSQL on a free loopback port; it is stopped and removed when the
// test ends. As root (CI), the server runs as the postgres user. It
// skips (fails under CI) when PostgreSQL's programs are not installed.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		Unavailable(t, "PostgreSQL server programs (initdb) are not installed", "apt-get install postgresql")
	}
	sort.Slice(bins, func(i, j int) bool { return pgVersion(bins[i]) < pgVersion(bins[j]) })
	p := &PrivatePostgres{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "partnermail-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			Unavailable(t, "running as root without a postgres user to run PostgreSQL as", "apt-get install postgresql")
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			Unavailable(t, "running as root without runuser to start PostgreSQL as the postgres user", "apt-get install util-linux")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.as = "postgres"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	p.run("initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	t.Cleanup(func() { p.ctl("stop", "-m", "immediate") })
	p.Start()
	return p
}

func pgVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func (p *PrivatePostgres) data() string { return filepath.Join(p.dir, "data") }

// DSN returns the DSN of the server's postgres database.
func (p *PrivatePostgres) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c max_connections=200", p.port, p.dir), "start")
}

// Stop stops the server: mode "fast" ends sessions cleanly, "immediate"
// is a crash (recovery from the WAL at the next start).
func (p *PrivatePostgres) Stop(mode string) {
	p.t.Helper()
	if err := p.ctl("stop", "-m", mode); err != nil {
		p.t.Fatalf("stop private PostgreSQL: %v", err)
	}
}

func (p *PrivatePostgres) ctl(args ...string) error {
	_, err := p.command("pg_ctl", append([]string{"-D", p.data(), "-w", "-t", "60"}, args...)...)
	return err
}

func (p *PrivatePostgres) run(prog string, args ...string) {
	p.t.Helper()
	if out, err := p.command(prog, args...); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("private PostgreSQL: %s: %v\n%s\n%s", prog, err, out, log)
	}
}

func (p *PrivatePostgres) command(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(p.bin, prog)
	cmd := exec.Command(path, args...)
	if p.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", p.as, "--", path}, args...)...)
	}
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a test's Ctrl-C does not reach the server first
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", prog, strings.Join(args, " "), err)
	}
	return out, nil
}
