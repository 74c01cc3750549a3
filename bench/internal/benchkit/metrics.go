package benchkit

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Metric reads one sample from the gateway's /metrics at httpAddr: series
// is the metric name with its labels as printed, e.g.
// `partnermail_outbound_attempts_total{result="sent"}`.
func Metric(httpAddr, series string) (float64, error) {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("metric %s not found", series)
}
