package imapd

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestFetchEnvelopeLean: FETCH (ENVELOPE), served from lean rows, gives
// the envelopes FETCH (ENVELOPE FLAGS RFC822.SIZE) gives, in a shared
// folder and in a private one holding a copy and an appended message.
func TestFetchEnvelopeLean(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		e.deliver(f, f.Acme, f.Ann, "First", "body")
		e.deliver(f, f.Solo, f.Sue, "Second", "body")
		c := e.login(f.Admin.Email, nil)
		if err := c.Create("Archives", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		selectBox(t, c, "INBOX")
		if _, err := c.Copy(imap.SeqSetNum(2), "Archives").Wait(); err != nil {
			t.Fatal(err)
		}
		raw := "From: admin@acme.example\r\nReply-To: Desk <desk@acme.example>\r\nSubject: note\r\n\r\nmine\r\n"
		ap := c.Append("Archives", int64(len(raw)), nil)
		ap.Write([]byte(raw))
		ap.Close()
		if _, err := ap.Wait(); err != nil {
			t.Fatal(err)
		}
		for _, box := range []string{"INBOX", "Archives"} {
			selectBox(t, c, box)
			lean := envelopes(t, c, &imap.FetchOptions{Envelope: true})
			full := envelopes(t, c, &imap.FetchOptions{Envelope: true, Flags: true, RFC822Size: true})
			if len(lean) != 2 || !reflect.DeepEqual(lean, full) {
				t.Errorf("%s: FETCH 1:* (ENVELOPE) = %+v, want %+v", box, lean, full)
			}
			if lean[0].ReplyTo == nil || lean[1].ReplyTo == nil {
				t.Errorf("%s: envelopes without the view's Reply-To: %+v", box, lean)
			}
		}
	})
}

func envelopes(t *testing.T, c *imapclient.Client, opts *imap.FetchOptions) []*imap.Envelope {
	t.Helper()
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, opts).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:* %+v: %v", opts, err)
	}
	var out []*imap.Envelope
	for _, m := range msgs {
		out = append(out, m.Envelope)
	}
	return out
}

// TestFetchEnvelopeLeanFolders: lean ENVELOPE rows are matched to the
// right UIDs in shared folders whose message ids are dense (INBOX),
// sparse (a group one message in ten belongs to) and repeated (Unread,
// where messages marked unread again come back under new UIDs), read in
// chunks of 3 and with the ENVELOPE cache filled.
func TestFetchEnvelopeLeanFolders(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		var ids []int64
		for i := range 40 {
			team, m := f.Acme, f.Ann
			if i%10 == 3 {
				team, m = f.Solo, f.Sue
			}
			ids = append(ids, e.deliver(f, team, m, "message "+strconv.Itoa(i), "body").ID)
		}
		c := e.login(f.Admin.Email, nil)
		selectBox(t, c, "INBOX")
		for _, s := range []struct {
			set imap.SeqSet
			op  imap.StoreFlagsOp
		}{{imap.SeqSet{{Start: 1, Stop: 30}}, imap.StoreFlagsAdd}, {imap.SeqSet{{Start: 5, Stop: 12}}, imap.StoreFlagsDel}, {imap.SeqSetNum(33, 34), imap.StoreFlagsAdd}} {
			if err := c.Store(s.set, &imap.StoreFlags{Op: s.op, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if left, err := e.st.IMAPUncached(ctx, 0, 100); err != nil || len(left) == 0 {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("after 10 s, %d messages still have no cached ENVELOPE", len(left))
			}
		}
		// Two cached ENVELOPEs FETCH cannot read (a format of another
		// version): it parses those messages' blobs.
		garbled := map[int64]storage.IMAPCached{ids[3]: {Envelope: "0\x1fgarbled"}, ids[20]: {Envelope: "0\x1fgarbled"}}
		if err := e.st.IMAPSetCaches(ctx, f.Company.ID, garbled); err != nil {
			t.Fatal(err)
		}
		e.srv.envChunk = 3
		for _, box := range []string{"INBOX", "Unread", "Filters/Group/Gold", "Filters/Group/Silver"} {
			selectBox(t, c, box)
			lean := envelopesByUID(t, c, &imap.FetchOptions{UID: true, Envelope: true})
			full := envelopesByUID(t, c, &imap.FetchOptions{UID: true, Envelope: true, Flags: true, RFC822Size: true})
			if len(lean) == 0 || !reflect.DeepEqual(lean, full) {
				t.Errorf("%s: FETCH 1:* (UID ENVELOPE) = %v, want %v", box, lean, full)
			}
		}
	})
}

// envelopesByUID is FETCH 1:* with opts, as UID: subject and Reply-To.
func envelopesByUID(t *testing.T, c *imapclient.Client, opts *imap.FetchOptions) map[imap.UID]string {
	t.Helper()
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, opts).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:* %+v: %v", opts, err)
	}
	out := map[imap.UID]string{}
	for _, m := range msgs {
		if m.Envelope == nil || len(m.Envelope.ReplyTo) == 0 {
			t.Fatalf("UID %d: no ENVELOPE or no Reply-To: %+v", m.UID, m.Envelope)
		}
		out[m.UID] = m.Envelope.Subject + " / " + m.Envelope.ReplyTo[0].Addr()
	}
	return out
}

// TestFetchBodiesBatched: FETCH 1:* (BODY.PEEK[]), whose bodies are read
// a batch at a time, answers what FETCH of each message alone does
// (small stored blobs, and one too big for a batch read), in a shared
// folder.
func TestFetchBodiesBatched(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		n := readBatch + 5 // two batches
		for i := range n {
			body := "body " + strconv.Itoa(i)
			if i == 7 {
				body = strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 5000) // 320 KB
			}
			e.deliver(f, f.Acme, f.Ann, "batch "+strconv.Itoa(i), body)
		}
		rc := dialRaw(t, e.addr)
		rc.cmd("a", "a LOGIN "+f.Admin.Email+" \""+testPassword+"\"\r\n")
		rc.cmd("b", "b EXAMINE INBOX\r\n")
		all := rc.cmd("c", "c FETCH 1:* (UID BODY.PEEK[])\r\n")
		var one strings.Builder
		for i := 1; i <= n; i++ {
			r := rc.cmd("d", "d FETCH "+strconv.Itoa(i)+" (UID BODY.PEEK[])\r\n")
			one.WriteString(strings.TrimSuffix(r, "d OK FETCH completed\r\n"))
		}
		if got, want := strings.TrimSuffix(all, "c OK FETCH completed\r\n"), one.String(); got != want || strings.Count(got, "* ") < n {
			t.Errorf("FETCH 1:* gave %d bytes, %d FETCHes of one gave %d", len(got), n, len(want))
		}
	})
}
