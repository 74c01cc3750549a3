package imapd

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

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
