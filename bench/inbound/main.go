// Command inbound measures partnermail's inbound SMTP listener on the
// loads of issue 3, against Postfix's smtp-sink (accepts and discards
// everything) on the same load in the same run:
//
//   - 4 KB messages over 32 concurrent connections, a new connection per
//     message (smtp-source -s 32 -m 5000 -l 4096), every 250 durable, on
//     SQLite and PostgreSQL, and on SQLite again with 100,000 messages
//     already stored;
//   - one 100 MB message: time, and the process's peak RSS above idle;
//   - one 300 MB message: peak RSS above idle.
//
// Usage:
//
//	go run ./bench/inbound [-quick] [-postgres DSN]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/partnermail/partnermail/bench/internal/benchkit"
)

func main() {
	quick := flag.Bool("quick", false, "smaller loads (figures not comparable with the targets)")
	pg := flag.String("postgres", os.Getenv("PARTNERMAIL_TEST_POSTGRES"), "PostgreSQL DSN; empty: SQLite only")
	flag.Parse()
	log.SetFlags(0)
	n, prefill, big, huge := 5000, 100000, 100, 300
	if *quick {
		n, prefill, big, huge = 1000, 5000, 10, 30
	}
	dir, err := os.MkdirTemp("", "pm-bench-inbound-")
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
	b := &bench{bin: bin, dir: dir, pg: *pg}

	sink, err := benchkit.StartSink()
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Stop()
	sinkRate, err := source(sink.Addr, n, "x@sink.localhost", "y@sink.localhost")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("smtp-sink: %d messages in %.0f msg/s\n", n, sinkRate)
	rate := func(backend string, stored int) {
		r, err := b.rate(backend, n, stored)
		if err != nil {
			log.Printf("%s rate: %v", backend, err)
			return
		}
		scen := fmt.Sprintf("4 KB messages, 32 connections, new connection each (%d)", n)
		if stored > 0 {
			scen += fmt.Sprintf(", %d already stored", stored)
		}
		row := benchkit.Row{Area: "inbound", Scenario: scen, Backend: backend, Value: r, Unit: "msg/s", Peer: "smtp-sink", PeerValue: sinkRate}
		if backend == "sqlite" {
			row = row.Check("min", 1000)
		}
		benchkit.Emit(row)
	}
	rate("sqlite", 0)
	if *pg != "" {
		rate("postgres", 0)
	}
	rate("sqlite", prefill)

	for _, mb := range []int{big, huge} {
		res, err := b.large(sink.Addr, mb)
		if err != nil {
			log.Printf("%d MB message: %v", mb, err)
			continue
		}
		scen := fmt.Sprintf("one %d MB message", mb)
		benchkit.Emit(benchkit.Row{Area: "inbound", Scenario: scen + ": time", Backend: "sqlite", Value: res.secs, Unit: "s",
			Peer: "smtp-sink", PeerValue: res.sinkSecs}.Check("ratio", 1.2))
		benchkit.Emit(benchkit.Row{Area: "inbound", Scenario: scen + ": peak RSS above idle", Backend: "sqlite", Value: res.rssAbove, Unit: "MB",
			Note: fmt.Sprintf("idle %.0f MB", res.idle)}.Check("max", 16))
	}
}
