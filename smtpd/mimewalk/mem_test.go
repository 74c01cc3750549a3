package mimewalk

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// genMessage streams a message with one base64 PDF of pdfSize bytes without
// ever holding it: the PDF bytes are generated, encoded and wrapped on the
// fly through an io.Pipe.
func genMessage(pdfSize int64) io.Reader {
	head := mixed(textPart) // ends with the closing boundary; cut it off
	head = strings.TrimSuffix(head, "--b1--\r\n") + "--b1\r\nContent-Type: application/pdf; name=\"big.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"big.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	pr, pw := io.Pipe()
	go func() {
		lw := &lineWrapper{w: pw}
		enc := base64.NewEncoder(base64.StdEncoding, lw)
		buf := pdfData(64 << 10)
		for left := pdfSize; left > 0; {
			n := min(int64(len(buf)), left)
			if _, err := enc.Write(buf[:n]); err != nil {
				pw.CloseWithError(err)
				return
			}
			left -= n
			copy(buf, fmt.Sprintf("%016x", left)) // vary the content a little
		}
		enc.Close()
		lw.flush()
		io.WriteString(pw, "\r\n--b1--\r\n")
		pw.Close()
	}()
	return io.MultiReader(strings.NewReader(head), pr)
}

// lineWrapper breaks base64 output into 76-character lines.
type lineWrapper struct {
	w   io.Writer
	col int
	out []byte
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	for _, c := range p {
		l.out = append(l.out, c)
		if l.col++; l.col == 76 {
			l.out = append(l.out, '\r', '\n')
			l.col = 0
		}
	}
	if len(l.out) >= 32<<10 {
		return len(p), l.flush()
	}
	return len(p), nil
}

func (l *lineWrapper) flush() error {
	_, err := l.w.Write(l.out)
	l.out = l.out[:0]
	return err
}

// TestWalkMemory walks a ~342 MB message carrying a 250 MB (decoded) PDF
// into each blob store (test files, SQLite, PostgreSQL when configured) and
// checks that the heap does not grow with the message.
//
//	go test -run TestWalkMemory -v ./smtpd/mimewalk
func TestWalkMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("walks a 342 MB message; skipped with -short and -race")
	}
	stores := []string{"files"}
	stores = append(stores, sqlstore.Drivers()...)
	for _, store := range stores {
		t.Run(store, func(t *testing.T) { // sequential: the heap is shared
			var blobs Blobs
			if store == "files" {
				blobs = newFileBlobs(t)
			} else {
				blobs = sqlstore.OpenTest(t, store).Blobs()
			}
			// The PostgreSQL blob store buffers chunks and pgx rows of its
			// own; give it more room, the walker's share is the same.
			maxGrowth := int64(16 << 20)
			if store == sqlstore.Postgres {
				maxGrowth = 32 << 20
			}
			walkMemory(t, blobs, store == "files", maxGrowth)
		})
	}
}

// walkMemory checks HeapInuse for every store; TotalAlloc only when the
// store itself allocates nothing per byte (the test file store), since it
// then measures the walker alone.
func walkMemory(t *testing.T, blobs Blobs, checkAlloc bool, maxGrowth int64) {
	const pdfSize = 250_000_000
	w, err := New(Config{Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := testenv.SampleHeap()
	start := time.Now()
	res, err := w.Walk(context.Background(), genMessage(pdfSize))
	elapsed := time.Since(start)
	peak := s.Done()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Walk = %v", err)
	}
	defer w.Discard(context.Background(), res)
	if len(res.Attachments) != 1 || res.Attachments[0].Size != pdfSize || res.Attachments[0].ContentType != "application/pdf" {
		t.Fatalf("Attachments = %+v", res.Attachments)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	growth := s.Growth(before.HeapInuse)
	t.Logf("message %d bytes (PDF %d) in %v (%.0f MB/s); HeapInuse before %.1f MiB, peak %.1f MiB (+%.1f MiB); TotalAlloc during walk %.1f MiB",
		res.RawSize, pdfSize, elapsed.Round(time.Millisecond), float64(res.RawSize)/1e6/elapsed.Seconds(),
		mib(before.HeapInuse), mib(peak), float64(growth)/(1<<20), mib(alloc))
	if growth > maxGrowth {
		t.Errorf("HeapInuse grew by %.1f MiB walking the message, want < %d MiB", float64(growth)/(1<<20), maxGrowth>>20)
	}
	if checkAlloc && alloc > 32<<20 {
		t.Errorf("TotalAlloc grew by %.1f MiB walking a %d-byte message, want < 32 MiB", mib(alloc), res.RawSize)
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkWalk measures the walk of a message (pre-built in memory) with
// one PDF attachment into file blobs: the raw copy and the decoded PDF are
// both written to disk (no fsync: that is the store's cost, not the walk's).
//
//	go test -run '^$' -bench Walk -benchmem ./smtpd/mimewalk
func BenchmarkWalk(b *testing.B) {
	for _, size := range []int64{0, 2 << 10, 10 << 20} {
		var msg []byte
		if size == 0 {
			msg = []byte(stdHeader + "\r\nThanks, the signed contract follows tomorrow.\r\n" + strings.Repeat("Regards, Pat\r\n", 250))
		} else {
			var err error
			if msg, err = io.ReadAll(genMessage(size)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("msg=%dB", len(msg)), func(b *testing.B) {
			w, _ := newTestWalker(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				res, err := w.Walk(context.Background(), bytes.NewReader(msg))
				if err != nil {
					b.Fatal(err)
				}
				w.Discard(context.Background(), res)
			}
		})
	}
}
