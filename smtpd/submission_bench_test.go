package smtpd

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// BenchmarkSubmission: staff messages of 4 KB to a team of two (one post,
// two queued emails each) over 8 authenticated connections kept open, as
// mail clients do. Report: msgs/s.
//
//	go test -run XXX -bench Submission -benchtime 400x ./smtpd
//
// 2026-11-25 on the shared 2-core CI machine at load average 25 (other
// builds running): SQLite 42.6 msgs/s (23.5 ms/op), PostgreSQL 27.0 msgs/s
// (37.0 ms/op); each message is a raw blob, a parsed message row, a thread
// link and two queue rows, committed before the 250.
func BenchmarkSubmission(b *testing.B) {
	for _, driver := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		b.Run(driver, func(b *testing.B) {
			e := newSubEnv(b, driver, subOpts{})
			team := "team+" + e.f.Acme.Slug + "@" + e.f.Company.Domains[0]
			body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 70)
			var n atomic.Int64
			b.SetParallelism(4) // × GOMAXPROCS (2 here): 8 connections
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c, err := smtp.Dial(e.addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				if err := c.Auth(sasl.NewPlainClient("", e.f.Manager.Email, subPassword)); err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					i := n.Add(1)
					msg := "From: " + e.f.Manager.Email + "\r\nTo: " + team + "\r\nSubject: bench\r\n" +
						fmt.Sprintf("Message-ID: <bench-%d@client.test>\r\n\r\n", i) + body
					if cmd, err := subSend(c, e.f.Manager.Email, []string{team}, msg); err != nil {
						b.Errorf("%s: %v", cmd, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
