// Command campaign measures issue 4's outbound load: a campaign to 10,000
// members relayed to a local Postfix smtp-sink, timed from `partnermail
// campaign send` to the last email accepted by the sink, with the serving
// process's peak RSS, on SQLite and PostgreSQL. The peer figure is
// smtp-source's rate into the same sink over 4 reused connections (the
// worker's default count).
//
//	go run ./bench/campaign [-quick] [-members 10000] [-postgres DSN]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/partnermail/partnermail/bench/internal/benchkit"
)

func main() {
	quick := flag.Bool("quick", false, "1,000 members (figures not comparable with the targets)")
	members := flag.Int("members", 10000, "campaign audience")
	pg := flag.String("postgres", os.Getenv("PARTNERMAIL_TEST_POSTGRES"), "PostgreSQL DSN; empty: SQLite only")
	flag.Parse()
	log.SetFlags(0)
	if *quick {
		*members = 1000
	}
	dir, err := os.MkdirTemp("", "pm-bench-campaign-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := os.Getenv("PARTNERMAIL_BENCH_BIN")
	if bin == "" {
		if bin, err = benchkit.Build(dir); err != nil {
			log.Fatal(err)
		}
	}
	sink, err := benchkit.StartSink()
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Stop()
	peer, err := benchkit.Source(sink.Addr, *members, "-d", "-s", "4", "-l", "2048", "-f", "a@sink.localhost", "-t", "b@sink.localhost")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("smtp-sink: %d messages over 4 reused connections at %.0f msg/s\n", *members, peer)
	backends := []string{"sqlite"}
	if *pg != "" {
		backends = append(backends, "postgres")
	}
	for _, b := range backends {
		rate, rss, err := run(bin, filepath.Join(dir, b), b, *pg, sink.Addr, *members)
		if err != nil {
			log.Printf("%s: %v", b, err)
			continue
		}
		scen := fmt.Sprintf("campaign to %d members, send to last accepted", *members)
		benchkit.Emit(benchkit.Row{Area: "outbound", Scenario: scen, Backend: b, Value: rate, Unit: "emails/s",
			Peer: "smtp-source→smtp-sink", PeerValue: peer}.Check("min", 1000))
		benchkit.Emit(benchkit.Row{Area: "outbound", Scenario: scen + ": peak RSS", Backend: b, Value: rss, Unit: "MB"}.Check("max", 200))
	}
}

// run times one campaign on a fresh gateway and returns emails per second
// and the process's peak RSS during it.
func run(bin, dir, backend, pg, relay string, members int) (rate, rss float64, err error) {
	dsn := ""
	if backend == "postgres" {
		var drop func()
		if dsn, drop, err = benchkit.Schema(pg, "bench_campaign"); err != nil {
			return 0, 0, err
		}
		defer drop()
	}
	env, err := benchkit.NewEnv(bin, dir, backend, dsn, relay, "")
	if err != nil {
		return 0, 0, err
	}
	var csv strings.Builder
	csv.WriteString("team,group,manager,status,member_email,member_name,email_notifications\n")
	for i := range members {
		fmt.Fprintf(&csv, "Team %05d,Resellers,,approved,member%05d@team%05d.example,Member %d,yes\n", i/10, i, i/10, i)
	}
	csvFile, body := filepath.Join(dir, "partners.csv"), filepath.Join(dir, "body.txt")
	os.WriteFile(csvFile, []byte(csv.String()), 0o600)
	os.WriteFile(body, []byte("Dear partner,\n\nour new price list is out: prices drop by 5 % from next month.\n\nBest regards,\nthe partner team\n"), 0o600)
	for _, args := range [][]string{
		{"company", "add", "--slug", "acme", "--name", "Acme", "--domain", "partners.acme.localhost"},
		{"staff", "add", "--company", "acme", "--email", "staff@acme.localhost", "--name", "Sam Staff"},
		{"group", "add", "--company", "acme", "--name", "Resellers"},
		{"partner", "import", "--company", "acme", csvFile},
	} {
		stdin := ""
		if args[0] == "staff" {
			stdin = "a-long-bench-password\n"
		}
		if _, err := env.Run(stdin, args...); err != nil {
			return 0, 0, err
		}
	}
	g, err := env.Serve()
	if err != nil {
		return 0, 0, err
	}
	defer g.Stop()
	const sent = `partnermail_outbound_attempts_total{result="sent"}`
	if _, err := benchkit.Metric(g.Addrs["http"], sent); err != nil {
		return 0, 0, fmt.Errorf("no outbound worker metrics (%w)", err)
	}
	if err := benchkit.ResetPeakRSS(g.Pid()); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	out, err := env.Run("", "campaign", "send", "--company", "acme", "--from", "staff@acme.localhost", "--subject", "New price list", "--body-file", body)
	if err != nil {
		return 0, 0, err
	}
	fmt.Printf("%s: campaign send: %s (%.2f s)\n", backend, strings.TrimSpace(out), time.Since(start).Seconds())
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		n, err := benchkit.Metric(g.Addrs["http"], sent)
		if err != nil {
			return 0, 0, err
		}
		if int(n) >= members {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("only %d of %d emails sent after 10 minutes", int(n), members)
		}
	}
	secs := time.Since(start).Seconds()
	_, rss, err = benchkit.RSS(g.Pid())
	if err != nil {
		return 0, 0, err
	}
	fmt.Printf("%s: %d emails in %.2f s (%.0f emails/s), peak RSS %.1f MB\n", backend, members, secs, float64(members)/secs, rss)
	return float64(members) / secs, rss, nil
}
