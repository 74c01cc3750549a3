package smtpd

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// BenchmarkInbound32 sends 4 KB messages to the general partner address
// over 32 concurrent connections, a new connection per message (the load
// of smtp-source -s 32 -l 4096), in process, for profiling:
//
//	go test -run '^$' -bench Inbound32 -benchtime 3000x -cpuprofile cpu.out ./smtpd/
//
// bench/inbound measures the built binary on the same load.
func BenchmarkInbound32(b *testing.B) {
	for _, driver := range sqlstore.Drivers() {
		b.Run(driver, func(b *testing.B) {
			e := newTestEnv(b, driver, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) })
			to := "partners@" + e.domain
			from := e.f.Sue.Email
			if os.Getenv("BENCH_REPLY") != "" {
				th, _ := e.staffThread(e.f.Solo, wholeTeam)
				to = e.replyAddr(th, e.f.Sue)
			}
			body := strings.Repeat(strings.Repeat("x", 78)+"\r\n", 4096/80)
			var seq atomic.Int64
			var wg sync.WaitGroup
			jobs := make(chan struct{})
			b.ResetTimer()
			start := time.Now()
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range jobs {
						n := seq.Add(1)
						msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\nMessage-Id: <%d.bench@solo.example>\r\n\r\n%s",
							from, to, n, body)
						if err := rawSend(e.addr, from, to, msg); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			for range b.N {
				jobs <- struct{}{}
			}
			close(jobs)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
		})
	}
}

// rawSend is a minimal pipelining-free SMTP client, cheap on CPU.
func rawSend(addr, from, to, msg string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	expect := func(code string) error {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(l, code) {
				return fmt.Errorf("got %q, want %s", l, code)
			}
			if len(l) > 3 && l[3] == ' ' {
				return nil
			}
		}
	}
	steps := []struct{ cmd, code string }{
		{"", "220"}, {"EHLO bench.example\r\n", "250"}, {"MAIL FROM:<" + from + ">\r\n", "250"},
		{"RCPT TO:<" + to + ">\r\n", "250"}, {"DATA\r\n", "354"}, {msg + ".\r\n", "250"}, {"QUIT\r\n", "221"},
	}
	for _, s := range steps {
		if s.cmd != "" {
			if _, err := c.Write([]byte(s.cmd)); err != nil {
				return err
			}
		}
		if err := expect(s.code); err != nil {
			return fmt.Errorf("after %q: %w", strings.TrimSpace(s.cmd[:min(len(s.cmd), 20)]), err)
		}
	}
	return nil
}

// BenchmarkLargeMessage sends one message with a 30 MB PDF (about 41 MB
// base64-encoded) per iteration, for profiling the streaming path.
func BenchmarkLargeMessage(b *testing.B) {
	e := newTestEnv(b, sqlstore.SQLite, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) })
	to := "partners@" + e.domain
	from := e.f.Sue.Email
	ct, body := withFiles("Signed.", "signed.pdf", "application/pdf", pdfBytes(30<<20))
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := range b.N {
		msg := mail(from, to, "Big", body, "MIME-Version: 1.0", ct, fmt.Sprintf("Message-ID: <big%d@solo.example>", i))
		if err := rawSend(e.addr, from, to, msg); err != nil {
			b.Fatal(err)
		}
	}
}
