package imapd

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/partnermail/partnermail/storage"
)

// Append stores a message in a private folder. Into Sent it only
// acknowledges a message partnermail sent itself (found by Message-ID):
// a client saving its sent copy does not make a duplicate.
func (s *session) Append(mailbox string, r imap.LiteralReader, opts *imap.AppendOptions) (*imap.AppendData, error) {
	mb, err := s.lookup(mailbox)
	if err == errNoMailbox {
		return nil, errNo(imap.ResponseCodeTryCreate, "No such mailbox")
	}
	if err != nil {
		return nil, err
	}
	if mb.Filter == storage.FilterSent {
		return s.appendSent(mb, r)
	}
	if mb.Virtual() {
		return nil, errNo(imap.ResponseCodeCannot, "Shared folders list the company's messages; save into a private folder instead")
	}
	if err := checkFlags(opts.Flags); err != nil {
		io.Copy(io.Discard, r) // the literal was announced: read it past
		return nil, err
	}
	if r.Size() == 0 {
		return nil, errNo(imap.ResponseCodeCannot, "An empty message is not a message: nothing saved")
	}
	bw, err := s.srv.cfg.Store.Blobs().Create(s.ctx)
	if err != nil {
		return nil, s.internal("append", err)
	}
	cw := &crlfWriter{w: bw}
	if _, err := io.Copy(cw, r); err != nil {
		bw.Abort()
		return nil, s.internal("append: read message", err)
	}
	n := cw.n
	key, err := bw.Commit(s.ctx)
	if err != nil {
		bw.Abort()
		return nil, s.internal("append", err)
	}
	var flags []string
	for _, f := range opts.Flags {
		flags = append(flags, string(f))
	}
	uid, err := s.srv.cfg.Store.IMAPAppend(s.ctx, s.company.ID, mb.ID, storage.IMAPMessage{
		RawKey: key, Size: n, Flags: flags, Date: opts.Time,
	})
	if err != nil {
		return nil, s.internal("append", err)
	}
	s.publish()
	return &imap.AppendData{UIDValidity: uint32(mb.ID), UID: imap.UID(uid)}, nil
}

var errNotSentHere = errNo(imap.ResponseCodeCannot,
	"Sent lists the messages partnermail sent for the company; this one (by its Message-ID) was not sent through partnermail")

func (s *session) appendSent(mb mbox, r io.Reader) (*imap.AppendData, error) {
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(r, maxHeaderMem)))
	if err != nil {
		return nil, errNotSentHere
	}
	mh := mail.Header{Header: gomessage.Header{Header: h}}
	id, err := mh.MessageID()
	if err != nil || id == "" {
		return nil, errNotSentHere
	}
	st := s.srv.cfg.Store
	m, err := st.IMAPOutboundByMessageID(s.ctx, s.company.ID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errNotSentHere
	}
	if err != nil {
		return nil, s.internal("append to Sent", err)
	}
	state, err := st.IMAPSync(s.ctx, s.company.ID, mb.ID)
	if err != nil {
		return nil, s.internal("append to Sent", err)
	}
	uid, err := st.IMAPUIDOf(s.ctx, s.company.ID, mb.ID, m.ID)
	if err != nil {
		return nil, s.internal("append to Sent", err)
	}
	return &imap.AppendData{UIDValidity: state.UIDValidity, UID: imap.UID(uid)}, nil
}

// crlfWriter writes to w with each bare LF made CRLF when the message's
// first line ends in a bare LF: a client that saves Unix line ends gets
// back the RFC 5322 message other clients expect (Dovecot converts too),
// and RFC822.SIZE counts what FETCH sends. A message whose first line
// ends in CRLF passes untouched, so binary parts (BINARY's APPEND of a
// literal8) keep their bytes.
type crlfWriter struct {
	w       io.Writer
	decided bool  // the first line end was seen
	convert bool  // it was a bare LF
	cr      bool  // the last byte written was CR
	n       int64 // bytes written to w
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) && (c.convert || !c.decided) {
		i := bytes.IndexByte(p[done:], '\n')
		if i < 0 {
			break
		}
		i += done
		crlf := i > 0 && p[i-1] == '\r' || i == 0 && c.cr
		if !c.decided {
			c.decided, c.convert = true, !crlf
		}
		if crlf || !c.convert {
			if err := c.write(p[done : i+1]); err != nil {
				return done, err
			}
		} else if err := c.write(p[done:i]); err != nil {
			return done, err
		} else if err := c.write([]byte("\r\n")); err != nil {
			return done, err
		}
		done = i + 1
	}
	if err := c.write(p[done:]); err != nil {
		return done, err
	}
	return len(p), nil
}

func (c *crlfWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	k, err := c.w.Write(b)
	c.n += int64(k)
	c.cr = b[len(b)-1] == '\r'
	return err
}
