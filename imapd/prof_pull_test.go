package imapd

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestProfilePull seeds IMAPD_PULL messages and replays, IMAPD_PULL_RUNS
// times, what mbsync sends for a full pull: UID FETCH 1:* (UID FLAGS),
// then one pipelined UID FETCH <uid> (BODY.PEEK[]) per message. Run with
// -cpuprofile to see where the time goes; IMAPD_PULL_DRIVER picks the
// store (sqlite by default).
func TestProfilePull(t *testing.T) {
	var n, runs int
	if _, err := fmt.Sscan(os.Getenv("IMAPD_PULL"), &n); err != nil || n == 0 {
		t.Skip("set IMAPD_PULL=<messages> to run")
	}
	if _, err := fmt.Sscan(os.Getenv("IMAPD_PULL_RUNS"), &runs); err != nil || runs == 0 {
		runs = 3
	}
	driver := sqlstore.SQLite
	if d := os.Getenv("IMAPD_PULL_DRIVER"); d != "" {
		driver = d
	}
	e := newTestServer(t, driver)
	f := e.f
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				body := strings.Repeat(fmt.Sprintf("Line %d of the answer about the partner programme.\r\n", i), 24)
				e.deliverRaw(f, f.Acme, f.Ann, fmt.Sprintf("p%d@x", i), rawMessage(f.Ann.Email, fmt.Sprintf("Subject %d", i), fmt.Sprintf("p%d@x", i), body), "in")
			}
		}()
	}
	for i := 0; i < n; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
	for r := 0; r < runs; r++ {
		if os.Getenv("IMAPD_PULL_MBSYNC") != "" {
			// This process is the server only: its CPU time is the
			// server's cost, whatever else loads the machine.
			cpu0 := cpuTime()
			d := mbsyncPull(t, e.addr, f.Admin.Email)
			t.Logf("mbsync pull of %d messages (INBOX and Unread): %v, server CPU %v", n, d, cpuTime()-cpu0)
			continue
		}
		d, bytes := pull(t, e.addr, f.Admin.Email, n)
		t.Logf("pull of %d messages: %v (%d bytes)", n, d, bytes)
	}
}

// cpuTime is the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mbsyncPull runs mbsync itself for a pull of INBOX into an empty maildir.
func mbsyncPull(t *testing.T, addr, user string) time.Duration {
	t.Helper()
	mbsync := testenv.NeedCommand(t, "mbsync", "isync")
	dir := t.TempDir()
	host, port := hostPort(t, addr)
	conf := filepath.Join(dir, "mbsyncrc")
	maildir := filepath.Join(dir, "mail")
	if err := os.MkdirAll(maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeMbsyncConf(t, conf, host, port, user, testPassword, maildir)
	cmd := exec.Command(mbsync, "-c", conf, "-q", "-a")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
	t.Logf("mbsync's own CPU: user %v, sys %v", cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime())
	return time.Since(start)
}

// pull logs in, selects INBOX and fetches every message as mbsync does;
// it returns the time from the FLAGS fetch to the last body.
func pull(t *testing.T, addr, user string, n int) (time.Duration, int64) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	var total int64
	// until reads responses up to the tagged one, skipping literals.
	until := func(tag string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			total += int64(len(line))
			if strings.HasSuffix(line, "}\r\n") {
				i := strings.LastIndexByte(line, '{')
				var k int64
				fmt.Sscan(line[i+1:len(line)-3], &k)
				if _, err := r.Discard(int(k)); err != nil {
					t.Fatal(err)
				}
				total += k
				continue
			}
			if strings.HasPrefix(line, tag+" ") {
				if !strings.HasPrefix(line, tag+" OK") {
					t.Fatalf("%s", line)
				}
				return
			}
		}
	}
	send := func(s string) {
		fmt.Fprintf(w, "%s\r\n", s)
	}
	r.ReadString('\n')
	send(fmt.Sprintf(`a LOGIN %s "%s"`, user, testPassword))
	send(`b SELECT INBOX`)
	w.Flush()
	until("a")
	until("b")
	start := time.Now()
	send(`c UID FETCH 1:* (UID FLAGS)`)
	w.Flush()
	until("c")
	go func() {
		for i := 1; i <= n; i++ {
			send(fmt.Sprintf("f%d UID FETCH %d (BODY.PEEK[])", i, i))
		}
		w.Flush()
	}()
	until(fmt.Sprintf("f%d", n))
	return time.Since(start), total
}
