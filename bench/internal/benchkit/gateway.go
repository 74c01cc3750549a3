package benchkit

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/partnermail/partnermail/internal/testenv"
)

// Build compiles ./cmd/partnermail (run from the repository root) into dir.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "partnermail")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/partnermail").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// Schema creates a fresh PostgreSQL schema and returns dsn pointing at it
// and a function that drops it.
func Schema(dsn, prefix string) (string, func(), error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		db.Exec("DROP SCHEMA " + name + " CASCADE")
		db.Close()
	}, nil
}

// Env is one configuration of the gateway: a data folder, a backend and
// the config file the CLI and serve use.
type Env struct {
	Bin, Dir, Conf string
	Backend        string // sqlite or postgres
}

// NewEnv writes a config in dir for backend (dsn for postgres) with every
// listener on 127.0.0.1:0 and outbound relayed to relay (capture when "").
func NewEnv(bin, dir, backend, dsn, relay, extra string) (*Env, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if backend != "postgres" {
		dsn = ""
	}
	text := testenv.GatewayConfig(dir, dsn, relay, "warn") + extra
	conf := filepath.Join(dir, "partnermail.toml")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	return &Env{Bin: bin, Dir: dir, Conf: conf, Backend: backend}, nil
}

// Run runs an admin command and returns its standard output.
func (e *Env) Run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(e.Bin, append([]string{"--config", e.Conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("partnermail %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// Gateway is a running `partnermail serve`.
type Gateway struct {
	cmd   *exec.Cmd
	Addrs map[string]string // listener name → address
	log   *testenv.SyncBuffer
	done  chan struct{}
}

var listenerLine = regexp.MustCompile(`^  (\S+)\s+(127\.0\.0\.1:\d+)$`)

// Serve starts `serve` and waits for its banner.
func (e *Env) Serve() (*Gateway, error) {
	g := &Gateway{Addrs: map[string]string{}, log: &testenv.SyncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(e.Bin, "--config", e.Conf, "serve")
	pr, pw := io.Pipe()
	g.cmd.Stdout, g.cmd.Stderr = g.log, pw
	if err := g.cmd.Start(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	addrs, last := map[string]string{}, time.Time{}
	go func() {
		sc := bufio.NewScanner(pr)
		running := false
		for sc.Scan() {
			line := sc.Text()
			g.log.Write([]byte(line + "\n"))
			mu.Lock()
			switch m := listenerLine.FindStringSubmatch(line); {
			case strings.HasPrefix(line, "partnermail is running"):
				running = true
			case running && m != nil:
				addrs[m[1]], last = m[2], time.Now()
			default:
				running = false
			}
			mu.Unlock()
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { g.cmd.Wait(); pw.Close(); close(g.done) }()
	// The banner is written at once; it is complete when no listener line
	// has followed for a moment.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-g.done:
			return nil, fmt.Errorf("serve exited: %v\n%s", g.cmd.ProcessState, g.log.String())
		default:
		}
		mu.Lock()
		ready := len(addrs) > 0 && time.Since(last) > 300*time.Millisecond
		if ready {
			for k, v := range addrs {
				g.Addrs[k] = v
			}
		}
		mu.Unlock()
		if ready {
			return g, nil
		}
	}
	g.Kill()
	return nil, fmt.Errorf("serve did not start within 60s:\n%s", g.log.String())
}

// Log returns what the process printed.
func (g *Gateway) Log() string { return g.log.String() }

// Pid returns the process id.
func (g *Gateway) Pid() int { return g.cmd.Process.Pid }

// Stop ends the process with SIGTERM and waits.
func (g *Gateway) Stop() {
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		g.Kill()
	}
}

// Kill ends the process with SIGKILL and waits.
func (g *Gateway) Kill() {
	g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.done
}

// RSS returns the current and peak resident set size of pid in MB, from
// /proc/PID/status (VmRSS, VmHWM).
func RSS(pid int) (cur, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return cur, peak, nil
}

// ResetPeakRSS resets pid's VmHWM to its current RSS (Linux clear_refs 5),
// so the next RSS peak is that of what follows.
func ResetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
