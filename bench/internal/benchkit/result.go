// Package benchkit is what the programs under bench/ share: building the
// binary, running a gateway process on loopback with its peak RSS, a
// PostgreSQL schema per run, and the result rows that bench/run collects
// into one table.
package benchkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Row is one measured figure, with the peer's figure on the same load when
// the issue names a peer.
type Row struct {
	Area      string  `json:"area"`     // inbound, outbound, imap, import
	Scenario  string  `json:"scenario"` // what was measured, in a few words
	Backend   string  `json:"backend"`  // sqlite, postgres, or "" when irrelevant
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"` // msg/s, s, MB, ms …
	Peer      string  `json:"peer,omitempty"`
	PeerValue float64 `json:"peer_value,omitempty"`
	Target    string  `json:"target,omitempty"` // e.g. ">= 1000", "<= 1.0x peer"
	Pass      *bool   `json:"pass,omitempty"`   // target met; nil when there is none
	Note      string  `json:"note,omitempty"`
}

// Prefix marks a result line in a bench program's standard output.
const Prefix = "BENCH "

// Emit prints r as a result line for bench/run (and people reading along).
func Emit(r Row) {
	b, _ := json.Marshal(r)
	fmt.Fprintf(os.Stdout, "%s%s\n", Prefix, b)
}

// Check fills Pass from the target: "min N" (value ≥ N), "max N"
// (value ≤ N), or "ratio N" (value/peer ≤ N, for times and sizes).
func (r Row) Check(kind string, n float64) Row {
	var ok bool
	switch kind {
	case "min":
		ok, r.Target = r.Value >= n, fmt.Sprintf(">= %g %s", n, r.Unit)
	case "max":
		ok, r.Target = r.Value <= n, fmt.Sprintf("<= %g %s", n, r.Unit)
	case "ratio":
		ok, r.Target = r.PeerValue > 0 && r.Value/r.PeerValue <= n, fmt.Sprintf("<= %gx peer", n)
	case "minratio":
		ok, r.Target = r.PeerValue > 0 && r.Value/r.PeerValue >= n, fmt.Sprintf(">= %gx peer", n)
	default:
		return r
	}
	r.Pass = &ok
	return r
}

// Collect reads a bench program's output: result lines are returned,
// everything else is copied to w.
func Collect(r io.Reader, w io.Writer) ([]Row, error) {
	var rows []Row
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, Prefix); ok {
			var row Row
			if err := json.Unmarshal([]byte(rest), &row); err == nil {
				rows = append(rows, row)
				continue
			}
		}
		fmt.Fprintln(w, line)
	}
	return rows, sc.Err()
}
