package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// runCount numbers each server's imaplib runs: a run's parity says
// whether its STORE adds or removes \Seen, so that every STORE changes
// 1,000 flags, however the runs of several servers interleave.
type runCount map[string]int

// ops runs bench/imap/client.py once against addr and returns each
// operation's time.
func (rc runCount) ops(addr, user string) (map[string][]float64, error) {
	host, port, _ := net.SplitHostPort(addr)
	n := rc[addr]
	rc[addr]++
	out, err := exec.Command("python3", "bench/imap/client.py", host, port, user, password, "1", fmt.Sprint(n)).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("client.py: %w\n%s", err, out)
	}
	var res map[string][]float64
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("client.py output %q: %w", out, err)
	}
	return res, nil
}

// inTurn runs the imaplib operations rounds times against each of addrs,
// one run at a time, starting each round with the next server, so that
// all meet the same machine: a load that comes and goes (another guest
// of the host, writeback, autovacuum) slows all rather than one.
func (rc runCount) inTurn(addrs []string, user string, rounds int) ([]map[string][]float64, error) {
	res := make([]map[string][]float64, len(addrs))
	for i := range res {
		res[i] = map[string][]float64{}
	}
	for r := 0; r < rounds; r++ {
		for k := range addrs {
			i := (r + k) % len(addrs)
			got, err := rc.ops(addrs[i], user)
			if err != nil {
				return nil, err
			}
			for key, v := range got {
				res[i][key] = append(res[i][key], v...)
			}
		}
	}
	return res, nil
}

// mbsyncPull times a full mbsync pull of one folder into an empty maildir
// under dir; callers pass the same dir for Dovecot and the gateway, so
// both pulls write to the same place on disk. fsync is mbsync's FSync
// (its default is yes: one fsync per message); without it the maildir
// goes to memory (/dev/shm) where there is one, so that the pull times
// the servers and mbsync rather than the disk.
func mbsyncPull(dir, addr, user, folder string, fsync bool) (float64, error) {
	host, port, _ := net.SplitHostPort(addr)
	local := filepath.Join(dir, "mbsync-"+filepath.Base(dir))
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && !fsync {
		local = filepath.Join("/dev/shm", "mbsync-"+filepath.Base(dir))
	}
	os.RemoveAll(local)
	defer os.RemoveAll(local)
	if err := os.MkdirAll(local, 0o700); err != nil {
		return 0, err
	}
	conf := filepath.Join(dir, "mbsyncrc")
	fs := "yes"
	if !fsync {
		fs = "no"
	}
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`FSync %s

IMAPAccount a
Host %s
Port %s
User %s
Pass %s
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account a

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel c
Far :remote:
Near :local:
Patterns "%s"
Create Near
Sync Pull
SyncState *
`, fs, host, port, user, password, local, local, folder)), 0o600)
	if err != nil {
		return 0, err
	}
	// mbsync fsyncs every message it writes: the seeding just before
	// leaves hundreds of MB of dirty pages whose writeback would slow
	// those fsyncs for whichever server was seeded last. Flush first.
	syscall.Sync()
	cmd := exec.Command("mbsync", "-c", conf, "-q", "-a")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("mbsync: %w\n%s", err, out)
	}
	secs := time.Since(start).Seconds()
	n := 0
	filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "cur" || err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "new" {
			n++
		}
		return nil
	})
	if n == 0 {
		return 0, fmt.Errorf("mbsync pulled nothing")
	}
	fmt.Printf("  mbsync (FSync %s) pulled %d messages in %.2f s\n", fs, n, secs)
	return secs, nil
}

func dial(addr, user string, h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// idleDelay measures, n times, how long after one session's STORE
// another session in IDLE receives the FETCH FLAGS update; it returns the
// p50 and p99 in milliseconds.
func idleDelay(addr, userA, userB string, n int) (p50, p99 float64, err error) {
	got := make(chan time.Time, 64)
	b, err := dial(addr, userB, &imapclient.UnilateralDataHandler{Fetch: func(*imapclient.FetchMessageData) { got <- time.Now() }})
	if err != nil {
		return 0, 0, err
	}
	defer b.Close()
	a, err := dial(addr, userA, nil)
	if err != nil {
		return 0, 0, err
	}
	defer a.Close()
	idle, err := b.Idle()
	if err != nil {
		return 0, 0, err
	}
	var ds []float64
	for i := 0; i < n; i++ {
		op := imap.StoreFlagsAdd
		if i%2 == 1 {
			op = imap.StoreFlagsDel
		}
		start := time.Now()
		if err := a.Store(imap.SeqSetNum(7), &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
			return 0, 0, err
		}
		select {
		case t := <-got:
			ds = append(ds, float64(t.Sub(start).Microseconds())/1000)
		case <-time.After(10 * time.Second):
			return 0, 0, fmt.Errorf("no IDLE update within 10 s")
		}
		for len(got) > 0 {
			<-got
		}
	}
	idle.Close()
	idle.Wait()
	slices.Sort(ds)
	return ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*99/100)], nil
}

// idleSessions opens n sessions in IDLE on INBOX and returns a function
// that closes them.
func idleSessions(addr, user string, n int) (func(), error) {
	var mu sync.Mutex
	var clients []*imapclient.Client
	var idles []*imapclient.IdleCommand
	closeAll := func() {
		for _, i := range idles {
			i.Close()
		}
		for _, c := range clients {
			c.Close()
		}
	}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var firstErr error
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(addr, user, nil)
			if err == nil {
				var idle *imapclient.IdleCommand
				if idle, err = c.Idle(); err == nil {
					mu.Lock()
					clients, idles = append(clients, c), append(idles, idle)
					mu.Unlock()
					return
				}
				c.Close()
			}
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll()
		return nil, firstErr
	}
	return closeAll, nil
}

// checkpoint has PostgreSQL write out its dirty buffers now (it needs a
// superuser, as the test DSN's postgres is).
func checkpoint(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(context.Background(), "CHECKPOINT")
	return err
}
