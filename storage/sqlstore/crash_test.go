package sqlstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

const crashChildEnv = "SQLSTORE_CRASH_CHILD"

// TestCrashKeepsAcknowledged kills a process that is delivering messages
// from 16 goroutines with SIGKILL, then checks that every message whose
// Deliver had returned is stored with its raw blob, and that no stored
// message points at a missing blob.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f := storagetest.NewFixture(t, s, "a")
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledged$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 400 {
		if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked = append(acked, id)
		}
	}
	cmd.Process.Kill()
	go io.Copy(io.Discard, out)
	cmd.Wait()
	if len(acked) < 400 {
		t.Fatalf("child acknowledged only %d messages", len(acked))
	}

	s, err = Open(ctx, Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	stored := map[string]storage.Message{}
	ths, err := s.Threads(ctx, f.Company.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range ths {
		ms, err := s.ThreadMessages(ctx, f.Company.ID, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			stored[m.MessageID] = m
			b, err := s.Blobs().Open(ctx, m.RawKey)
			if err != nil {
				t.Errorf("message %s points at blob %s: %v", m.MessageID, m.RawKey, err)
				continue
			}
			raw, _ := io.ReadAll(b)
			b.Close()
			if !strings.HasPrefix(string(raw), "raw of "+m.MessageID) || len(raw) > 100 && len(raw) != len("raw of "+m.MessageID)+70<<10 {
				t.Errorf("blob of %s = %q", m.MessageID, raw)
			}
		}
	}
	for _, id := range acked {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged message %s is lost", id)
		}
	}
	t.Logf("%d acknowledged, %d stored after SIGKILL", len(acked), len(stored))
}

// crashChild delivers messages until killed, printing ACK <Message-ID>
// after each Deliver returns.
func crashChild(dir string) {
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	c, _ := s.CompanyBySlug(ctx, "a")
	team, _ := s.TeamByName(ctx, c.ID, "Acme Resellers")
	ann, _ := s.MemberByEmail(ctx, c.ID, "ann@acme-a.example")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d@crash", g, i)
				w, _ := s.Blobs().Create(ctx)
				io.WriteString(w, "raw of "+id)
				if i%7 == 0 { // some blobs are files
					io.WriteString(w, strings.Repeat(".", 70<<10))
				}
				key, err := w.Commit(ctx)
				if err != nil {
					return
				}
				_, _, err = s.Deliver(ctx, storage.Delivery{NewThread: storage.Thread{TeamID: team.ID},
					Message: storage.Message{CompanyID: c.ID, Direction: storage.DirectionIn, AuthorMemberID: ann.ID, MessageID: id, RawKey: key}})
				if err != nil {
					return
				}
				mu.Lock()
				fmt.Println("ACK", id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
