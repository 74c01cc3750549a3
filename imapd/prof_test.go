package imapd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestProfileLoad seeds IMAPD_PROFILE messages and times the bench
// operations with go-imap (run with -cpuprofile to see where time goes).
func TestProfileLoad(t *testing.T) {
	var n int
	if _, err := fmt.Sscan(os.Getenv("IMAPD_PROFILE"), &n); err != nil || n == 0 {
		t.Skip("set IMAPD_PROFILE=<messages> to run")
	}
	driver := sqlstore.SQLite
	if d := os.Getenv("IMAPD_PROFILE_DRIVER"); d != "" {
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
				e.deliverRaw(f, f.Acme, f.Ann, fmt.Sprintf("p%d@x", i), rawMessage(f.Ann.Email, fmt.Sprintf("Subject %d", i), fmt.Sprintf("p%d@x", i), "body text"), "in")
			}
		}()
	}
	for i := 0; i < n; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
	if os.Getenv("IMAPD_PROFILE_PY") != "" {
		// bench/imap's client (Python imaplib), as the bench runs it.
		host, port := hostPort(t, e.addr)
		out, err := exec.Command("python3", "../bench/imap/client.py", host, port, f.Admin.Email, testPassword, "5").CombinedOutput()
		if err != nil {
			t.Fatalf("client.py: %v\n%s", err, out)
		}
		t.Logf("imaplib: %s", out)
		return
	}
	c := e.login(f.Admin.Email, nil)
	for r := 0; r < 5; r++ {
		t0 := time.Now()
		selectBox(t, c, "INBOX")
		t1 := time.Now()
		c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect()
		t2 := time.Now()
		c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
		t3 := time.Now()
		c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
		t4 := time.Now()
		op := imap.StoreFlagsAdd // as bench/imap: +FLAGS and -FLAGS in turn
		if r%2 == 1 {
			op = imap.StoreFlagsDel
		}
		c.Store(imap.SeqSet{{Start: 1, Stop: 1000}}, &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
		t5 := time.Now()
		t.Logf("select %v flags %v envelope %v search %v store(%v) %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), op, t5.Sub(t4))
	}
}

// TestProfileIdleMemory opens IMAPD_SESSIONS raw sessions in IDLE and
// reports the heap and stacks they hold.
func TestProfileIdleMemory(t *testing.T) {
	var n int
	if _, err := fmt.Sscan(os.Getenv("IMAPD_SESSIONS"), &n); err != nil || n == 0 {
		t.Skip("set IMAPD_SESSIONS=<sessions> to run")
	}
	e := newTestServer(t, sqlstore.SQLite)
	for i := 0; i < 50; i++ {
		e.deliver(e.f, e.f.Acme, e.f.Ann, "s", "b")
	}
	measure := func() (heap, stack uint64) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse, m.StackInuse
	}
	h0, s0 := measure()
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "a LOGIN %s \"%s\"\r\nb SELECT INBOX\r\nc IDLE\r\n", e.f.Admin.Email, testPassword)
		buf := make([]byte, 4096)
		var got string
		for !strings.Contains(got, "+ idling") {
			k, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got += string(buf[:k])
		}
	}
	h1, s1 := measure()
	t.Logf("%d sessions in IDLE: heap +%.1f KB/session, stacks +%.1f KB/session, goroutines %d",
		n, float64(h1-h0)/1024/float64(n), float64(s1-s0)/1024/float64(n), runtime.NumGoroutine())
	for _, c := range conns {
		c.Close()
	}
}
