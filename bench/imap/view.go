package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/partnermail/partnermail/internal/dovecot"
)

// startViewDovecot starts a second Dovecot whose INBOX holds the messages
// exactly as the gateway at addr shows them in its INBOX — the partner's
// bytes after the header block the SPEC adds (Reply-To: thread+TOKEN@D,
// the X-Partner-* fields, Authentication-Results) — with the same flags,
// in the same order.
//
// The first Dovecot holds the partners' original bytes. Against it, a
// client listing the folder reads less: each ENVELOPE lacks the thread's
// Reply-To address, 7% of the answer, and imaplib's time grows with the
// bytes it parses. Against this one, both servers serve the same mailbox
// byte for byte, and what differs is the servers.
func startViewDovecot(dir, addr string) (*dovecot.Server, error) {
	msgs, seen, err := pullView(addr)
	if err != nil {
		return nil, fmt.Errorf("read the gateway's INBOX: %w", err)
	}
	maildir := filepath.Join(dir, "Maildir")
	if err := dovecot.WriteMaildir(maildir, len(msgs), func(i int) []byte { return msgs[i] },
		func(i int) bool { return seen[i] }); err != nil {
		return nil, err
	}
	return dovecot.Start(dir, []dovecot.User{{Name: reader, Password: password, Maildir: maildir}})
}

// pullView reads every message of the gateway's INBOX, in order, with
// whether it is \Seen.
func pullView(addr string) (msgs [][]byte, seen []bool, err error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	if err := c.Login(reader, password).Wait(); err != nil {
		return nil, nil, err
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, nil, err
	}
	body := &imap.FetchItemBodySection{Peek: true}
	cmd := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{body}})
	defer cmd.Close()
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		var raw []byte
		var isSeen bool
		for item := m.Next(); item != nil; item = m.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataFlags:
				isSeen = slices.Contains(it.Flags, imap.FlagSeen)
			case imapclient.FetchItemDataBodySection:
				if raw, err = io.ReadAll(it.Literal); err != nil {
					return nil, nil, err
				}
			}
		}
		if int(m.SeqNum) != len(msgs)+1 || raw == nil {
			return nil, nil, fmt.Errorf("message %d: unexpected response (sequence number %d, %d bytes)", len(msgs)+1, m.SeqNum, len(raw))
		}
		msgs = append(msgs, raw)
		seen = append(seen, isSeen)
	}
	if err := cmd.Close(); err != nil {
		return nil, nil, err
	}
	return msgs, seen, nil
}
