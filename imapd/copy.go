package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/partnermail/partnermail/storage"
)

// destination finds the private folder COPY, MOVE and APPEND write into.
func (s *session) destination(name string) (mbox, error) {
	mb, err := s.lookup(name)
	if err == errNoMailbox {
		return mb, errNo(imap.ResponseCodeTryCreate, "No such mailbox")
	}
	if err != nil {
		return mb, err
	}
	if mb.Virtual() {
		return mb, errNo(imap.ResponseCodeCannot, "Shared folders list the company's messages; copy into a private folder instead")
	}
	return mb, nil
}

// Copy copies messages into a private folder; a partner message becomes
// a private copy there (with the headers of the staff view), the shared
// record stays.
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	sel := s.sel
	to, err := s.destination(dest)
	if err != nil {
		return nil, err
	}
	pairs, err := sel.set(numSet)
	if err != nil {
		return nil, err
	}
	uids := uidsOf(pairs)
	if len(uids) == 0 {
		return nil, nil
	}
	var prefix func(storage.IMAPMessage) string
	if sel.mb.Virtual() {
		prefix = func(m storage.IMAPMessage) string {
			p, _ := s.sharedPrefix(m)
			return p
		}
	}
	src, dst, err := s.srv.cfg.Store.IMAPCopy(s.ctx, s.company.ID, sel.mb.ID, uids, to.ID, prefix)
	if err != nil {
		return nil, s.internal("copy", err)
	}
	s.publish()
	return copyData(to, src, dst), nil
}

func copyData(to mbox, src, dst []uint32) *imap.CopyData {
	d := &imap.CopyData{UIDValidity: uint32(to.ID)}
	for i := range src {
		d.SourceUIDs.AddNum(imap.UID(src[i]))
		d.DestUIDs.AddNum(imap.UID(dst[i]))
	}
	return d
}

// Move moves messages between private folders; partner messages cannot
// leave the shared folders.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	sel := s.sel
	if sel.mb.Virtual() {
		return errShared
	}
	if sel.readOnly {
		return errReadOnly
	}
	to, err := s.destination(dest)
	if err != nil {
		return err
	}
	pairs, err := sel.set(numSet)
	if err != nil {
		return err
	}
	uids := uidsOf(pairs)
	if len(uids) == 0 {
		return nil
	}
	src, dst, err := s.srv.cfg.Store.IMAPMove(s.ctx, s.company.ID, sel.mb.ID, uids, to.ID)
	if err != nil {
		return s.internal("move", err)
	}
	s.publish()
	if err := w.WriteCopyData(copyData(to, src, dst)); err != nil {
		return err
	}
	return s.expungeView(w.WriteExpunge, src)
}
