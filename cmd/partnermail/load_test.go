package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// outcome is what one inbound submission got from the server.
type outcome struct {
	code int   // 250, or the 4xx/5xx SMTP code; 0 when no reply (connection error)
	err  error // the error for code != 250
	at   time.Time
}

// inboundMsg is the exact bytes sent as message i: about 4 KB with a last
// line naming it, so a stored prefix is told apart from the whole.
func inboundMsg(i int) (msgID string, raw []byte) {
	msgID = fmt.Sprintf("load-%d@team.localhost", i)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: Load %d\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		memberAddr(i%50), fxGeneral, i, msgID, time.Unix(1764000000, 0).UTC().Format(time.RFC1123Z))
	for b.Len() < 4000 {
		fmt.Fprintf(&b, "Line of message %d, filling it to about four kilobytes of text.\r\n", i)
	}
	fmt.Fprintf(&b, "END OF MESSAGE %d\r\n", i)
	return msgID, b.Bytes()
}

// submit sends message i on a new connection, as smtp-source does.
func submit(addr string, i int) outcome {
	_, raw := inboundMsg(i)
	from := memberAddr(i % 50)
	err := func() error {
		c, err := smtp.Dial(addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.CommandTimeout, c.SubmissionTimeout = 60*time.Second, 60*time.Second
		if err := c.SendMail(from, []string{fxGeneral}, bytes.NewReader(raw)); err != nil {
			return err
		}
		c.Quit()
		return nil
	}()
	o := outcome{code: 250, err: err, at: time.Now()}
	if err != nil {
		o.code = 0
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			o.code = se.Code
		}
	}
	return o
}

// load submits messages from..to-1 over conns concurrent connections and
// calls after (if set) once per outcome, from the submitting goroutine.
func load(addr string, from, to, conns int, after func(i int, o outcome)) []outcome {
	out := make([]outcome, to-from)
	next := make(chan int)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				o := submit(addr, i)
				out[i-from] = o
				if after != nil {
					after(i, o)
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// storedInbound opens the store of a stopped gateway and returns the raw
// bytes of every inbound message by Message-ID.
func storedInbound(t *testing.T, cfg sqlstore.Config) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open the gateway's store: %v", err)
	}
	defer s.Close()
	co, err := s.CompanyBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	threads, err := s.Threads(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, th := range threads {
		msgs, err := s.ThreadMessages(ctx, co.ID, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Direction != storage.DirectionIn {
				continue
			}
			if _, dup := out[m.MessageID]; dup {
				t.Errorf("Message-ID %s stored twice", m.MessageID)
			}
			b, err := s.Blobs().Open(ctx, m.RawKey)
			if err != nil {
				t.Errorf("message %s: raw blob %s: %v", m.MessageID, m.RawKey, err)
				continue
			}
			var buf bytes.Buffer
			_, err = buf.ReadFrom(b)
			b.Close()
			if err != nil {
				t.Errorf("message %s: read raw blob: %v", m.MessageID, err)
			}
			out[m.MessageID] = buf.Bytes()
		}
	}
	return out
}

// checkStored compares what the server answered with what it stored:
// every 250 stored whole, nothing refused with a 4xx/5xx stored. Messages
// without a reply (connection cut) may be either.
func checkStored(t *testing.T, from int, outcomes []outcome, stored map[string][]byte) (accepted, refused, cut, cutStored int) {
	t.Helper()
	for k, o := range outcomes {
		i := from + k
		id, raw := inboundMsg(i)
		got, ok := stored[id]
		switch {
		case o.code == 250:
			accepted++
			if !ok {
				t.Errorf("message %d got 250 but is not stored", i)
			} else if !bytes.HasSuffix(got, raw) {
				t.Errorf("message %d got 250 but is stored partially or altered (%d bytes stored, %d sent)", i, len(got), len(raw))
			}
		case o.code >= 400:
			refused++
			if ok {
				t.Errorf("message %d got %d (%v) but is stored", i, o.code, o.err)
			}
		default:
			cut++
			if ok {
				cutStored++
				if !bytes.HasSuffix(got, raw) {
					t.Errorf("message %d (connection cut) is stored partially", i)
				}
			}
		}
		delete(stored, id)
	}
	for id, b := range stored {
		if strings.HasPrefix(id, "load-") {
			t.Errorf("stored message %s (%d bytes) was never sent", id, len(b))
		}
	}
	return
}
