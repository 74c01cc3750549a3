package benchkit

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Table prints rows as one Markdown table.
func Table(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintln(tw, "| area\t| scenario\t| backend\t| partnermail\t| peer\t| ratio\t| target\t| met\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---:\t|---:\t|---:\t|---\t|---\t|")
	for _, r := range rows {
		peer, ratio := "", ""
		if r.Peer != "" {
			peer = fmt.Sprintf("%s %s", num(r.PeerValue), r.Peer)
			if r.PeerValue > 0 {
				ratio = fmt.Sprintf("%.2fx", r.Value/r.PeerValue)
			}
		}
		met := ""
		if r.Pass != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Pass]
		}
		scen := r.Scenario
		if r.Note != "" {
			scen += " (" + r.Note + ")"
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s %s\t| %s\t| %s\t| %s\t| %s\t|\n", r.Area, scen, r.Backend, num(r.Value), r.Unit, peer, ratio, r.Target, met)
	}
	tw.Flush()
}

func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}
