package imapd

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/partnermail/partnermail/storage"
)

// Store changes flags. In a shared folder \Seen, \Answered and \Flagged
// are the company's (other flags are not kept there), and \Deleted is
// refused: partner messages are records.
func (s *session) Store(_ *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) error {
	sel := s.sel
	if sel.readOnly {
		return errReadOnly
	}
	if err := checkFlags(flags.Flags); err != nil {
		return err
	}
	var names []string
	for _, f := range flags.Flags {
		if sel.mb.Virtual() && flags.Op != imap.StoreFlagsDel && strings.EqualFold(string(f), string(imap.FlagDeleted)) {
			return errShared
		}
		names = append(names, string(f))
	}
	op := storage.IMAPFlagsSet
	switch flags.Op {
	case imap.StoreFlagsAdd:
		op = storage.IMAPFlagsAdd
	case imap.StoreFlagsDel:
		op = storage.IMAPFlagsDel
	}
	_, byUID := numSet.(imap.UIDSet)
	pairs, err := sel.set(numSet)
	if err != nil {
		return err
	}
	st := s.srv.cfg.Store
	published := false
	fw := s.newFetchWire()
	defer fw.flush()
	for len(pairs) > 0 {
		chunk := pairs[:min(len(pairs), fetchChunk)]
		pairs = pairs[len(chunk):]
		uids := uidsOf(chunk)
		changed, err := st.IMAPStoreFlags(s.ctx, s.company.ID, sel.mb.ID, uids, op, names)
		if err != nil {
			return s.internal("store", err)
		}
		if len(changed) > 0 {
			s.remember(changed)
			if !published {
				s.publish()
				published = true
			}
		}
		if flags.Silent {
			continue
		}
		if err := s.writeFlags(fw, chunk, byUID, true); err != nil {
			return err
		}
	}
	return nil
}

// checkFlags refuses system flags a client may not set: \Recent is the
// server's, and a server must not show a system flag RFC 9051 does not
// define (flag-extension), so it cannot keep one either. Dovecot
// answers both BAD as well.
func checkFlags(flags []imap.Flag) error {
	for _, f := range flags {
		switch name := strings.ToLower(string(f)); {
		case !strings.HasPrefix(name, `\`):
		case name == `\seen`, name == `\answered`, name == `\flagged`, name == `\deleted`, name == `\draft`:
		case name == `\recent`:
			return &imap.Error{Type: imap.StatusResponseTypeBad, Text: `\Recent is the server's to set`}
		default:
			return &imap.Error{Type: imap.StatusResponseTypeBad,
				Text: string(f) + ` is not a flag: system flags are \Seen, \Answered, \Flagged, \Deleted and \Draft`}
		}
	}
	return nil
}
