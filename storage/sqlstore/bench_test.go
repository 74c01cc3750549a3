package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// BenchmarkDeliverParallel measures accepted messages per second the way
// inbound SMTP stores them: 32 concurrent connections, each writing a 4 KB
// raw blob and then Deliver-ing the message into an existing thread, both
// durable before the next message. Sub-benchmarks vary the backend, group
// commit (batch 1 = off), inline small blobs, and the number of messages
// already stored (empty vs 100,000).
//
//	go test -run '^$' -bench DeliverParallel -benchtime 5000x ./storage/sqlstore/
func BenchmarkDeliverParallel(b *testing.B) {
	for _, tc := range []struct {
		name    string
		driver  string
		batch   int
		inline  int
		prefill int
	}{
		{"sqlite/group+inline/empty", SQLite, 0, 0, 0},
		{"sqlite/group+inline/100k", SQLite, 0, 0, 100_000},
		{"sqlite/group+files/empty", SQLite, 0, -1, 0},
		{"sqlite/nogroup+files/empty", SQLite, 1, -1, 0},
		{"postgres/empty", Postgres, 0, 0, 0},
		{"postgres/100k", Postgres, 0, 0, 100_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := Config{Driver: tc.driver, DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler),
				MaxBatch: tc.batch, InlineBlobMax: tc.inline}
			if tc.driver == Postgres {
				cfg.DSN = testSchema(b, testenv.PostgresDSN(b))
			}
			s, err := Open(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchDeliver(b, s, tc.prefill)
		})
	}
}

func benchDeliver(b *testing.B, s *Store, prefill int) {
	ctx := context.Background()
	f := storagetest.NewFixture(b, s, "bench")
	const threads = 200
	ids := make([]int64, threads)
	for i := range ids {
		m, _, err := s.Deliver(ctx, storage.Delivery{NewThread: storage.Thread{TeamID: f.Acme.ID, Subject: "t"},
			Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = m.ThreadID
	}
	if prefill > 0 {
		if err := fillMessages(ctx, s, f.Company.ID, ids, prefill); err != nil {
			b.Fatal(err)
		}
	}
	raw := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"), 64) // 4 KiB
	var seq atomic.Int64
	b.SetParallelism(max(1, 32/runtimeProcs()))
	b.SetBytes(int64(len(raw)))
	var w0, b0 int64
	if s.gc != nil {
		w0, b0 = s.gc.writes.Load(), s.gc.batches.Load()
	}
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(uint64(seq.Add(1)), 7))
		for pb.Next() {
			n := seq.Add(1)
			w, err := s.Blobs().Create(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			w.Write(raw)
			key, err := w.Commit(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			_, _, err = s.Deliver(ctx, storage.Delivery{ThreadID: ids[r.IntN(threads)], Message: storage.Message{
				CompanyID: f.Company.ID, Direction: storage.DirectionIn, AuthorMemberID: f.Ann.ID,
				MessageID: fmt.Sprintf("bench-%d@x", n), Subject: "Re: t", FromAddr: f.Ann.Email,
				Size: int64(len(raw)), RawKey: key, Text: "hello"}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if s.gc != nil {
		b.ReportMetric(float64(s.gc.writes.Load()-w0)/float64(s.gc.batches.Load()-b0), "writes/commit")
	}
}

// fillMessages inserts n messages spread over the threads in large
// transactions, the fast way, to measure inserts into a full table.
func fillMessages(ctx context.Context, s *Store, companyID int64, threads []int64, n int) error {
	const per = 5000
	for done := 0; done < n; done += per {
		err := s.write(ctx, func(tx *Tx) error {
			for i := done; i < min(n, done+per); i++ {
				var id int64
				err := tx.QueryRow(ctx, `INSERT INTO messages (company_id, thread_id, direction, message_id, date, raw_key, text, created_at)
					VALUES (?, ?, 'in', ?, 1, 'k', 'prefill', 1) RETURNING id`, companyID, threads[i%len(threads)], fmt.Sprintf("fill-%d@x", i)).Scan(&id)
				if err != nil {
					return err
				}
				_, err = tx.Exec(ctx, `INSERT INTO message_flags (message_id, company_id, modseq) VALUES (?, ?, ?)`, id, companyID, i+1000)
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
	}
	return nil
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
