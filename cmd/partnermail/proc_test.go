package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/testenv"
)

// Tests that need real processes (two gateways on one database, SIGKILL)
// run the partnermail binary, built once per test run by binary.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/partnermail (without -race: the processes are the
// system under test, not the test) and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "partnermail-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "partnermail")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is one running `partnermail serve` process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	addrs  map[string]string // listener name → address, from the banner
	stderr *testenv.SyncBuffer
	done   chan struct{}
}

var bannerLine = regexp.MustCompile(`(?m)^  (\S+)\s+(127\.0\.0\.1:\d+)$`)

// startProc runs `partnermail --config conf serve` and waits for its
// banner. The process is killed when the test ends.
func startProc(t testing.TB, conf string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stderr: &testenv.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), append([]string{"--config", conf, "serve"}, args...)...)
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() { // what the process logged says why, in CI too
			t.Logf("serve's log:\n%s", p.stderr.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := p.stderr.String()
		if i := strings.Index(out, "partnermail is running"); i >= 0 && strings.Count(out[i:], "\n") > 1 {
			// The banner is written in one burst; wait for its last
			// listener line, which ends with a newline after an address.
			time.Sleep(50 * time.Millisecond)
			p.addrs = map[string]string{}
			for _, m := range bannerLine.FindAllStringSubmatch(p.stderr.String(), -1) {
				p.addrs[m[1]] = m[2]
			}
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited (%v) before its banner:\n%s", p.cmd.ProcessState, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 60s:\n%s", out)
		}
	}
}

// addr returns the address of the named listener or fails the test.
func (p *proc) addr(t testing.TB, name string) string {
	t.Helper()
	a, ok := p.addrs[name]
	if !ok {
		t.Fatalf("serve has no %s listener (banner: %v)", name, p.addrs)
	}
	return a
}

// kill ends the process with SIGKILL (no cleanup in the process) and waits.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// stop ends the process with SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Errorf("serve did not stop within 60s of SIGTERM:\n%s", p.stderr.String())
		p.kill()
	}
	if !p.cmd.ProcessState.Success() {
		p.t.Errorf("serve exit: %v\n%s", p.cmd.ProcessState, p.stderr.String())
	}
}

// procConfig writes a config for a gateway process on dsn (a PostgreSQL
// DSN; empty for SQLite in dir) with every listener on 127.0.0.1:0, and
// outbound mail relayed to relay (capture when empty). extra is appended.
func procConfig(t testing.TB, dir, dsn, relay, extra string) string {
	t.Helper()
	conf := testenv.GatewayConfig(dir, dsn, relay, "info") + extra
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "partnermail.toml")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
