package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/testenv"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// Crash and fault tests: the gateway process is SIGKILLed, or its
// PostgreSQL stopped, in the middle of a load; what it answered must match
// what it stored. Bounded: a few thousand 4 KB messages.

func TestCrashInboundSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary under load; skipped with -short")
	}
	for _, driver := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(driver, func(t *testing.T) {
			dir := t.TempDir()
			cfg := sqlstore.Config{Driver: driver, DataDir: dir, Logger: slog.New(slog.DiscardHandler)}
			if driver == sqlstore.Postgres {
				cfg.DSN = pgSchema(t)
			}
			conf := procConfig(t, dir, cfg.DSN, "", "")
			setupCompany(t, conf, 50)
			p := startProc(t, conf)
			const total, killAfter = 2000, 600
			var ok atomic.Int64
			var once sync.Once
			outcomes := load(p.addr(t, "smtp"), 0, total, 32, func(i int, o outcome) {
				if o.code == 250 && ok.Add(1) == killAfter {
					once.Do(p.kill)
				}
			})
			once.Do(p.kill) // in case fewer were accepted
			stored := storedInbound(t, cfg)
			acc, ref, cut, cutStored := checkStored(t, 0, outcomes, stored)
			t.Logf("%s: %d messages: %d got 250 (all stored whole), %d refused (none stored), %d cut by SIGKILL (%d of them stored)",
				driver, total, acc, ref, cut, cutStored)
			if acc < killAfter {
				t.Errorf("only %d messages accepted before the kill, want %d", acc, killAfter)
			}
			// Restarted on the same data, it serves again.
			p = startProc(t, conf)
			if o := submit(p.addr(t, "smtp"), total); o.code != 250 {
				t.Errorf("after restart: %v", o.err)
			}
			p.stop()
		})
	}
}

func TestFaultPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary and a private PostgreSQL; skipped with -short")
	}
	pg := testenv.StartPrivatePostgres(t)
	dir := t.TempDir()
	cfg := sqlstore.Config{Driver: sqlstore.Postgres, DSN: pg.DSN(), DataDir: dir, Logger: slog.New(slog.DiscardHandler)}
	conf := procConfig(t, dir, cfg.DSN, "", "")
	setupCompany(t, conf, 50)
	p := startProc(t, conf)
	addr := p.addr(t, "smtp")
	ready := func() int {
		resp, err := http.Get("http://" + p.addr(t, "http") + "/readyz")
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// Phases; a transaction that spans two is counted in none.
	const (
		up = 1 + iota
		stopping
		down
		starting
		upAgain
	)
	names := map[int]string{0: "across phases", up: "up", stopping: "stopping", down: "down", starting: "starting", upAgain: "up again"}
	var (
		mu       sync.Mutex
		outcomes []outcome
		phase    []int
		cur      atomic.Int32
		stopLoad = make(chan struct{})
		loadDone = make(chan struct{})
	)
	cur.Store(up)
	go func() { // 4 senders, one message at a time each
		defer close(loadDone)
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stopLoad:
						return
					default:
					}
					ph := int(cur.Load())
					i := int(next.Add(1) - 1)
					o := submit(addr, i)
					mu.Lock()
					for len(outcomes) <= i {
						outcomes = append(outcomes, outcome{})
						phase = append(phase, 0)
					}
					outcomes[i] = o
					if int(cur.Load()) == ph { // the phase did not change during the transaction
						phase[i] = ph
					}
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
	}()
	count := func(ph int, pred func(outcome) bool) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for i, o := range outcomes {
			if phase[i] == ph && pred(o) {
				n++
			}
		}
		return n
	}
	is250 := func(o outcome) bool { return o.code == 250 }
	all := func(outcome) bool { return true }
	waitFor(t, time.Minute, "messages accepted before the outage", func() bool { return count(up, is250) >= 50 })

	cur.Store(stopping)
	pg.Stop("fast")
	cur.Store(down)
	waitFor(t, time.Minute, "answers during the outage", func() bool { return count(down, all) >= 40 })
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage = %d, want 503", code)
	}
	cur.Store(starting)
	pg.Start()
	cur.Store(upAgain)
	waitFor(t, 2*time.Minute, "service to resume by itself", func() bool { return count(upAgain, is250) >= 50 })
	close(stopLoad)
	<-loadDone
	if code := ready(); code != http.StatusOK {
		t.Errorf("/readyz after the outage = %d, want 200", code)
	}

	mu.Lock()
	reasons := map[string]int{}
	for i, o := range outcomes {
		if o.code != 250 {
			reasons[fmt.Sprintf("%s: %v", names[phase[i]], o.err)]++
		}
		if phase[i] == up && o.code != 250 {
			t.Errorf("message %d while PostgreSQL was up: %d %v", i, o.code, o.err)
		}
		if phase[i] == down && (o.code < 400 || o.code >= 500) {
			t.Errorf("message %d during the outage: %d %v, want a 4xx", i, o.code, o.err)
		}
	}
	mu.Unlock()
	for r, n := range reasons {
		t.Logf("%4d × %s", n, r)
	}
	if os.Getenv("PM_DEBUG") != "" {
		t.Logf("serve log:\n%s", p.stderr.String())
	}
	p.stop()
	stored := storedInbound(t, cfg)
	acc, ref, cut, _ := checkStored(t, 0, outcomes, stored)
	t.Logf("PostgreSQL outage: %d messages before (all 250), %d during (all 4xx), %d after it came back (%d of them 250); overall %d accepted and stored, %d refused and not stored, %d without reply",
		count(up, all), count(down, all), count(upAgain, all), count(upAgain, is250), acc, ref, cut)
}
