package imapd

import (
	"slices"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// listEntry is one name LIST can show: a mailbox, or a parent level
// (\Noselect) such as Filters/Group.
type listEntry struct {
	name     string
	mb       *mbox
	children bool
}

func entries(boxes []mbox) []listEntry {
	byName := map[string]*listEntry{}
	var out []*listEntry
	add := func(name string, mb *mbox) *listEntry {
		if e := byName[name]; e != nil {
			if mb != nil {
				e.mb = mb
			}
			return e
		}
		e := &listEntry{name: name, mb: mb}
		byName[name] = e
		out = append(out, e)
		return e
	}
	for i := range boxes {
		add(boxes[i].Name, &boxes[i])
		parts := strings.Split(boxes[i].Name, string(delim))
		for j := 1; j < len(parts); j++ {
			add(strings.Join(parts[:j], string(delim)), nil).children = true
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].name, out[j].name
		if (a == nameInbox) != (b == nameInbox) {
			return a == nameInbox
		}
		return a < b
	})
	list := make([]listEntry, len(out))
	for i, e := range out {
		list[i] = *e
	}
	return list
}

// List lists the mailboxes matching the patterns.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 || len(patterns) == 1 && patterns[0] == "" {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	boxes, err := s.mailboxes()
	if err != nil {
		return s.internal("list", err)
	}
	var unsubscribed []string
	if options.SelectSubscribed || options.ReturnSubscribed {
		if unsubscribed, err = s.srv.cfg.Store.IMAPUnsubscribed(s.ctx, s.staff.ID); err != nil {
			return s.internal("list", err)
		}
	}
	for _, e := range entries(boxes) {
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(e.name, delim, ref, p) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		data := imap.ListData{Mailbox: e.name, Delim: delim}
		if e.children {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if e.mb == nil {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		} else {
			subscribed := !slices.Contains(unsubscribed, e.name)
			if options.SelectSubscribed && !subscribed {
				continue
			}
			if subscribed && (options.SelectSubscribed || options.ReturnSubscribed) {
				data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
			}
			if e.mb.special != "" {
				data.Attrs = append(data.Attrs, e.mb.special)
			}
		}
		if options.SelectSpecialUse && (e.mb == nil || e.mb.special == "") {
			continue
		}
		if options.ReturnStatus != nil && e.mb != nil {
			st, err := s.status(*e.mb, options.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}

// Status reports a mailbox's counters.
func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	mb, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	return s.status(mb, options)
}

func (s *session) status(mb mbox, options *imap.StatusOptions) (*imap.StatusData, error) {
	st := s.srv.cfg.Store
	state, err := st.IMAPSync(s.ctx, s.company.ID, mb.ID)
	if err != nil {
		return nil, s.internal("status", err)
	}
	data := &imap.StatusData{Mailbox: mb.Name}
	if options.UIDNext {
		data.UIDNext = imap.UID(state.UIDNext)
	}
	if options.UIDValidity {
		data.UIDValidity = state.UIDValidity
	}
	if options.NumMessages || options.NumUnseen || options.NumDeleted || options.Size || options.NumRecent {
		c, err := st.IMAPStatus(s.ctx, s.company.ID, mb.ID)
		if err != nil {
			return nil, s.internal("status", err)
		}
		if options.NumMessages {
			data.NumMessages = &c.Messages
		}
		if options.NumUnseen {
			data.NumUnseen = &c.Unseen
		}
		if options.NumDeleted {
			data.NumDeleted = &c.Deleted
		}
		if options.Size {
			data.Size = &c.Size
		}
		if options.NumRecent {
			var zero uint32
			data.NumRecent = &zero
		}
	}
	return data, nil
}
