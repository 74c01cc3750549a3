package outbound

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestComposeMemory composes a notification carrying a 250 MB attachment
// and writes it with Email.WriteTo, and with WriteSignedTo (DKIM), into a
// go-message parser that hashes the decoded attachment: the heap must not
// grow with the attachment (go-mail alone buffers it base64-encoded, +661
// MiB measured, and its DKIM signing the whole email once more).
//
//	go test -run TestComposeMemory -v ./outbound
func TestComposeMemory(t *testing.T) {
	if testing.Short() || composeRace {
		t.Skip("writes a 250 MB attachment; skipped with -short and -race")
	}
	const size = 250_000_000
	env := newComposeEnv(t, sqlstore.SQLite, "")
	f := env.f
	ctx := context.Background()

	// Store the attachment without holding it: generated, hashed, written.
	w, err := env.st.Blobs().Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	buf := randomBytes(t, 1<<20)
	for left := size; left > 0; {
		n := min(len(buf), left)
		buf[0]++ // vary the chunks
		h.Write(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	key, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := h.Sum(nil)
	buf = nil

	rows := []storage.OutboundEmail{{CompanyID: f.Company.ID, MemberID: f.Sue.ID, Rcpt: f.Sue.Email, MessageID: "big@x"}}
	env.deliver(t, storage.Delivery{
		NewThread: storage.Thread{CompanyID: f.Company.ID, TeamID: f.Solo.ID, Subject: "The big file"},
		Message: storage.Message{CompanyID: f.Company.ID, Direction: storage.DirectionOut, AuthorStaffID: f.Admin.ID,
			MessageID: "big-m@x", Subject: "The big file", Text: "Here it is.",
			Attachments: []storage.Attachment{{Filename: "big.pdf", ContentType: "application/pdf", Size: size, BlobKey: key}}},
		Outbound: rows,
	})

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	modes := []struct {
		name  string
		write func(em *Email, w io.Writer) (int64, error)
	}{
		{"plain", (*Email).WriteTo},
		{"dkim", func(em *Email, w io.Writer) (int64, error) {
			return em.WriteSignedTo(w, &dkim.SignOptions{Domain: "acme.example", Selector: "s", Signer: priv})
		}},
	}
	for _, mode := range modes {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := testenv.SampleHeap()
		start := time.Now()
		em, err := env.c.Compose(ctx, rows[0])
		if err != nil {
			t.Fatal(err)
		}
		pr, pw := io.Pipe()
		var written int64
		go func() {
			n, err := mode.write(em, pw)
			written = n
			pw.CloseWithError(err)
		}()
		got, err := hashAttachment(pr)
		elapsed := time.Since(start)
		peak := s.Done()
		runtime.ReadMemStats(&after)
		em.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s: attachment read back differs (sha256 %x, want %x)", mode.name, got, want)
		}
		growth := s.Growth(before.HeapInuse)
		t.Logf("%s: email %d bytes (attachment %d) written and parsed in %v; HeapInuse before %.1f MiB, peak %.1f MiB (+%.1f MiB); TotalAlloc %.1f MiB",
			mode.name, written, size, elapsed.Round(time.Millisecond), composeMiB(before.HeapInuse), composeMiB(peak),
			float64(growth)/(1<<20), composeMiB(after.TotalAlloc-before.TotalAlloc))
		if growth > 16<<20 {
			t.Errorf("%s: HeapInuse grew by %.1f MiB writing the email, want < 16 MiB", mode.name, float64(growth)/(1<<20))
		}
	}
}

// hashAttachment parses an email and returns the sha256 of its one
// attachment, decoded.
func hashAttachment(r io.Reader) ([]byte, error) {
	mr, err := mail.CreateReader(r)
	if err != nil {
		return nil, err
	}
	var sum []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return sum, nil
		}
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		if _, err := io.Copy(h, p.Body); err != nil {
			return nil, err
		}
		if _, ok := p.Header.(*mail.AttachmentHeader); ok {
			sum = h.Sum(nil)
		}
	}
}

func composeMiB(n uint64) float64 { return float64(n) / (1 << 20) }
