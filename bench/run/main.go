// Command run is the one benchmark command: it builds the binary once,
// runs every scenario program under bench/ (each starts partnermail on
// loopback, and its peer — Postfix's smtp-sink, Dovecot — on the same load
// in the same run), and prints one table of their results.
//
//	go run ./bench/run [-only inbound,campaign,imap,import] [-quick] [-postgres DSN]
//
// Run it from the repository root on an otherwise idle machine.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/partnermail/partnermail/bench/internal/benchkit"
)

// program is one scenario program and the arguments bench/run gives it.
type program struct {
	name  string
	args  func(quick bool, pg string) []string
	about string
}

var programs = []program{
	{"inbound", func(quick bool, pg string) []string {
		a := []string{"-postgres", pg}
		if quick {
			a = append(a, "-quick")
		}
		return a
	}, "inbound SMTP: 4 KB messages over 32 connections, large messages (issue 3)"},
	{"campaign", func(quick bool, pg string) []string {
		a := []string{"-postgres", pg}
		if quick {
			a = append(a, "-quick")
		}
		return a
	}, "outbound: a 10,000-member campaign through a local sink (issue 4)"},
	{"imap", func(quick bool, pg string) []string {
		a := []string{"-postgres", pg}
		if quick {
			a = append(a, "-quick")
		}
		return a
	}, "IMAP at 100,000 messages against Dovecot (issue 5)"},
	{"import", func(quick bool, pg string) []string {
		n := "10000"
		if quick {
			n = "1000"
		}
		return []string{"-members", n, "-postgres", pg}
	}, "partner import of a 10,000-member CSV (issue 7)"},
}

func main() {
	only := flag.String("only", "", "comma-separated programs to run (default: all)")
	quick := flag.Bool("quick", false, "smaller loads, for trying the command out (figures not comparable with the targets)")
	pg := flag.String("postgres", os.Getenv("PARTNERMAIL_TEST_POSTGRES"), "PostgreSQL DSN for the postgres rows (a schema per run); empty: SQLite only")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench/run: ")
	if _, err := os.Stat("cmd/partnermail"); err != nil {
		log.Fatal("run it from the repository root: go run ./bench/run")
	}
	dir, err := os.MkdirTemp("", "pm-bench-run-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	log.Printf("building partnermail")
	bin, err := benchkit.Build(dir)
	if err != nil {
		log.Fatal(err)
	}
	started, loadBefore := time.Now(), loadAvg()
	var rows []benchkit.Row
	var missing []string
	for _, p := range programs {
		if *only != "" && !contains(strings.Split(*only, ","), p.name) {
			continue
		}
		if _, err := os.Stat(filepath.Join("bench", p.name)); err != nil {
			missing = append(missing, p.name)
			continue
		}
		log.Printf("== %s: %s", p.name, p.about)
		got, err := runProgram(bin, dir, p.name, p.args(*quick, *pg))
		switch {
		case err != nil:
			log.Printf("%s failed: %v", p.name, err)
			missing = append(missing, p.name+" (failed, see above)")
		case len(got) == 0:
			missing = append(missing, p.name+" (no results, see above)")
		}
		rows = append(rows, got...)
	}
	fmt.Printf("\npartnermail benchmarks — %s, %d CPUs, %s, %s in %s%s; load average before %s, after %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.Version(), osName(),
		time.Since(started).Round(time.Second), map[bool]string{true: " (-quick: smaller loads)", false: ""}[*quick],
		loadBefore, loadAvg())
	benchkit.Table(os.Stdout, rows)
	if len(missing) > 0 {
		fmt.Printf("\nnot measured: %s\n", strings.Join(missing, ", "))
	}
}

// runProgram builds and runs bench/<name>, copying its progress to stderr
// and collecting its result rows.
func runProgram(bin, dir, name string, args []string) ([]benchkit.Row, error) {
	exe := filepath.Join(dir, "bench-"+name)
	if out, err := exec.Command("go", "build", "-o", exe, "./bench/"+name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %w\n%s", err, out)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "PARTNERMAIL_BENCH_BIN="+bin)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rows, cerr := benchkit.Collect(out, prefixed{os.Stderr, "   " + name + ": "})
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return rows, err
	}
	return rows, cerr
}

type prefixed struct {
	w      io.Writer
	prefix string
}

func (p prefixed) Write(b []byte) (int, error) {
	_, err := fmt.Fprintf(p.w, "%s%s", p.prefix, b)
	return len(b), err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

// loadAvg returns the 1-minute load average: figures taken on a busy
// machine are not comparable.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
