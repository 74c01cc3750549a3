package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/bench/internal/benchkit"
)

const (
	domain  = "partners.acme.localhost"
	general = "partners@" + domain
	member  = "member0@team0.localhost"
)

type bench struct {
	bin, dir, pg string
}

// source runs smtp-source -s 32 -m n -l 4096 against addr and returns the
// rate in messages per second.
func source(addr string, n int, from, to string) (float64, error) {
	return benchkit.Source(addr, n, "-s", "32", "-l", "4096", "-f", from, "-t", to)
}

// gateway creates a company with one member and starts serve on backend.
func (b *bench) gateway(name, backend string) (*benchkit.Gateway, func(), error) {
	dsn, drop := "", func() {}
	if backend == "postgres" {
		var err error
		if dsn, drop, err = benchkit.Schema(b.pg, "bench_inbound"); err != nil {
			return nil, nil, err
		}
	}
	env, err := benchkit.NewEnv(b.bin, filepath.Join(b.dir, name), backend, dsn, "", "")
	if err != nil {
		drop()
		return nil, nil, err
	}
	csv := filepath.Join(env.Dir, "partners.csv")
	os.WriteFile(csv, []byte("team,group,manager,status,member_email,member_name,email_notifications\nTeam 0,Resellers,,approved,"+member+",Member 0,yes\n"), 0o600)
	for _, args := range [][]string{
		{"company", "add", "--slug", "acme", "--name", "Acme", "--domain", domain},
		{"group", "add", "--company", "acme", "--name", "Resellers"},
		{"partner", "import", "--company", "acme", csv},
	} {
		if _, err := env.Run("", args...); err != nil {
			drop()
			return nil, nil, err
		}
	}
	g, err := env.Serve()
	if err != nil {
		drop()
		return nil, nil, err
	}
	return g, func() { g.Stop(); drop(); os.RemoveAll(env.Dir) }, nil
}

// rate measures n messages on a fresh gateway, after stored messages.
func (b *bench) rate(backend string, n, stored int) (float64, error) {
	g, done, err := b.gateway(fmt.Sprintf("rate-%s-%d", backend, stored), backend)
	if err != nil {
		return 0, err
	}
	defer done()
	addr := g.Addrs["smtp"]
	if stored > 0 {
		fmt.Printf("%s: storing %d messages first\n", backend, stored)
		r, err := source(addr, stored, member, general)
		if err != nil {
			return 0, err
		}
		fmt.Printf("%s: stored them at %.0f msg/s\n", backend, r)
	}
	r, err := source(addr, n, member, general)
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, tail(g.Log()))
	}
	fmt.Printf("%s: %d messages (%d stored before) at %.0f msg/s\n", backend, n, stored, r)
	return r, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// largeResult is one large message's figures.
type largeResult struct {
	secs, sinkSecs, idle, rssAbove float64
}

// large sends one message of about mb MB (a PDF attachment) to the sink
// and to a fresh SQLite gateway.
func (b *bench) large(sinkAddr string, mb int) (largeResult, error) {
	var res largeResult
	file := filepath.Join(b.dir, fmt.Sprintf("large-%d.eml", mb))
	if err := writeLarge(file, mb); err != nil {
		return res, err
	}
	defer os.Remove(file)
	var err error
	if res.sinkSecs, err = send(sinkAddr, file); err != nil {
		return res, fmt.Errorf("smtp-sink: %w", err)
	}
	g, done, err := b.gateway(fmt.Sprintf("large-%d", mb), "sqlite")
	if err != nil {
		return res, err
	}
	defer done()
	warm := filepath.Join(b.dir, "warm.eml")
	if err := writeLarge(warm, 0); err != nil {
		return res, err
	}
	if _, err := send(g.Addrs["smtp"], warm); err != nil { // one small message first: pools and caches in place
		return res, fmt.Errorf("warm-up: %w\n%s", err, tail(g.Log()))
	}
	time.Sleep(500 * time.Millisecond)
	if res.idle, _, err = benchkit.RSS(g.Pid()); err != nil {
		return res, err
	}
	if err := benchkit.ResetPeakRSS(g.Pid()); err != nil {
		return res, err
	}
	if res.secs, err = send(g.Addrs["smtp"], file); err != nil {
		return res, fmt.Errorf("%w\n%s", err, tail(g.Log()))
	}
	_, peak, err := benchkit.RSS(g.Pid())
	if err != nil {
		return res, err
	}
	res.rssAbove = peak - res.idle
	fmt.Printf("%d MB message: %.2f s (smtp-sink %.2f s), peak RSS %.1f MB, idle %.1f MB\n", mb, res.secs, res.sinkSecs, peak, res.idle)
	return res, nil
}

// send delivers the message in file over one SMTP transaction and returns
// its duration.
func send(addr, file string) (float64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	c, err := smtp.Dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.SendMail(member, []string{general}, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return 0, err
	}
	secs := time.Since(start).Seconds()
	c.Quit()
	return secs, nil
}

// writeLarge writes a partner reply with a PDF attachment making the
// message about mb MB (0: a small one).
func writeLarge(path string, mb int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	id := fmt.Sprintf("large-%d-%d@team0.localhost", mb, time.Now().UnixNano())
	fmt.Fprintf(w, "From: Member 0 <%s>\r\nTo: <%s>\r\nSubject: Price list signed (%d MB)\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n",
		member, general, mb, id, time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(w, "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is the signed document.\r\n\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"signed.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	raw := mb << 20 * 3 / 4 // base64 grows by 4/3
	if raw < 1024 {
		raw = 1024
	}
	rng := rand.NewChaCha8([32]byte{1})
	chunk := make([]byte, 57*1024) // 57 bytes → one 76-character line
	enc := make([]byte, base64.StdEncoding.EncodedLen(57))
	copy(chunk, "%PDF-1.7\n")
	rng.Read(chunk[9:])
	for done := 0; done < raw; done += len(chunk) {
		if done > 0 {
			rng.Read(chunk)
		}
		for i := 0; i < len(chunk); i += 57 {
			base64.StdEncoding.Encode(enc, chunk[i:i+57])
			w.Write(enc)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("--b1--\r\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
