// Command import measures `partnermail partner import` of a generated CSV:
// wall time and the peak RSS of the process, on SQLite and, when a DSN is
// given, on PostgreSQL (in a schema of its own, dropped afterwards).
//
//	go run ./bench/import [-members 10000] [-postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/partnermail/partnermail/bench/internal/benchkit"
)

func main() {
	members := flag.Int("members", 10000, "members in the CSV (10 per team)")
	pg := flag.String("postgres", os.Getenv("PARTNERMAIL_TEST_POSTGRES"), "PostgreSQL DSN; empty: SQLite only")
	flag.Parse()
	dir, err := os.MkdirTemp("", "pm-bench-import-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := os.Getenv("PARTNERMAIL_BENCH_BIN") // set by bench/run, which built it
	if bin == "" {
		if bin, err = benchkit.Build(dir); err != nil {
			log.Fatal(err)
		}
	}
	csv := filepath.Join(dir, "partners.csv")
	if err := writeCSV(csv, *members); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("partner import of %d members (%d teams)\n", *members, (*members+9)/10)
	fmt.Printf("%-10s %-8s %10s %14s\n", "backend", "run", "seconds", "peak RSS (MB)")
	backends := map[string]string{"sqlite": fmt.Sprintf("[storage]\ndriver = \"sqlite\"\ndata_dir = %q\n", filepath.Join(dir, "data"))}
	order := []string{"sqlite"}
	if *pg != "" {
		schemaDSN, drop, err := benchkit.Schema(*pg, "bench_import")
		if err != nil {
			log.Fatal(err)
		}
		defer drop()
		backends["postgres"] = fmt.Sprintf("[storage]\ndriver = \"postgres\"\ndsn = %q\ndata_dir = %q\n", schemaDSN, filepath.Join(dir, "pgdata"))
		order = append(order, "postgres")
	}
	for _, b := range order {
		conf := filepath.Join(dir, b+".toml")
		if err := os.WriteFile(conf, []byte(backends[b]), 0o600); err != nil {
			log.Fatal(err)
		}
		pm := func(args ...string) {
			if out, err := exec.Command(bin, append([]string{"--config", conf}, args...)...).CombinedOutput(); err != nil {
				log.Fatalf("%s %v: %v\n%s", b, args, err, out)
			}
		}
		pm("company", "add", "--slug", "bench", "--name", "Bench", "--domain", "partners.bench.localhost")
		pm("group", "add", "--company", "bench", "--name", "Resellers")
		// First run creates everything; the second updates (idempotent import).
		for _, run := range []string{"create", "update"} {
			cmd := exec.Command(bin, "--config", conf, "partner", "import", "--company", "bench", csv)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				log.Fatalf("%s import: %v\n%s", b, err, out)
			}
			secs := time.Since(start).Seconds()
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
			fmt.Printf("%-10s %-8s %10.2f %14.1f\n", b, run, secs, float64(rss)/1024)
			scen := fmt.Sprintf("partner import, %d members, %s", *members, run)
			benchkit.Emit(benchkit.Row{Area: "import", Scenario: scen + ": time", Backend: b, Value: secs, Unit: "s"})
			benchkit.Emit(benchkit.Row{Area: "import", Scenario: scen + ": peak RSS", Backend: b, Value: float64(rss) / 1024, Unit: "MB"})
		}
	}
}

func writeCSV(path string, n int) error {
	var b strings.Builder
	b.WriteString("team,group,manager,status,member_email,member_name,email_notifications\n")
	for i := range n {
		team := i / 10
		fmt.Fprintf(&b, "Team %05d,Resellers,,approved,member%05d@team%05d.example,Member %d,%t\n", team, i, team, i, i%7 != 0)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
