package imapd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/storage"
)

const delim = '/'

// Names of the shared folders; a private folder may not take them.
const (
	nameInbox   = "INBOX"
	nameUnread  = "Unread"
	nameSent    = "Sent"
	nameDrafts  = "Drafts"
	nameFilters = "Filters"
)

// mbox is a mailbox as the session lists it.
type mbox struct {
	storage.IMAPMailbox
	special imap.MailboxAttr // \Sent, \Drafts or ""
}

// sharedEntry caches a company's virtual folders for a few seconds:
// computing them reads every group and team.
type sharedEntry struct {
	at    time.Time
	boxes []mbox
}

const sharedTTL = 5 * time.Second

// shared returns the company's virtual folders, creating missing ones.
func (s *Server) shared(ctx context.Context, companyID int64) ([]mbox, error) {
	s.sharedMu.Lock()
	e, ok := s.sharedBy[companyID]
	s.sharedMu.Unlock()
	if ok && time.Since(e.at) < sharedTTL {
		return e.boxes, nil
	}
	st := s.cfg.Store
	type want struct {
		name, filter string
		special      imap.MailboxAttr
	}
	wants := []want{{nameInbox, storage.FilterAll, ""}, {nameUnread, storage.FilterUnread, ""}, {nameSent, storage.FilterSent, imap.MailboxAttrSent}}
	filter := func(name, f string) {
		wants = append(wants, want{name, f, ""}, want{name + "/" + nameUnread, f + ":unread", ""})
	}
	groups, err := st.Groups(ctx, companyID)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		filter("Filters/Group/"+cleanName(g.Name), storage.FilterGroup+":"+strconv.FormatInt(g.ID, 10))
	}
	teams, err := st.Teams(ctx, companyID, storage.TeamFilter{})
	if err != nil {
		return nil, err
	}
	managers := map[int64]string{}
	count := map[string]int{}
	for _, t := range teams {
		if t.ManagerID == 0 || managers[t.ManagerID] != "" {
			continue
		}
		n := t.ManagerName
		if n == "" {
			n = t.ManagerEmail
		}
		managers[t.ManagerID] = cleanName(n)
		count[managers[t.ManagerID]]++
	}
	ids := make([]int64, 0, len(managers))
	for id := range managers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		n := managers[id]
		if count[n] > 1 {
			n += " (" + strconv.FormatInt(id, 10) + ")"
		}
		filter("Filters/Manager/"+n, storage.FilterManager+":"+strconv.FormatInt(id, 10))
	}
	filter("Filters/Status/Pending", storage.FilterStatus+":"+storage.StatusPending)
	filter("Filters/Status/Declined", storage.FilterStatus+":"+storage.StatusDeclined)
	out := make([]mbox, 0, len(wants))
	for _, w := range wants {
		mb, err := st.IMAPEnsureMailbox(ctx, companyID, storage.IMAPMailbox{Name: w.name, Filter: w.filter})
		if err != nil {
			return nil, err
		}
		out = append(out, mbox{IMAPMailbox: mb, special: w.special})
	}
	s.sharedMu.Lock()
	s.sharedBy[companyID] = sharedEntry{at: time.Now(), boxes: out}
	s.sharedMu.Unlock()
	return out, nil
}

// cleanName makes a group or manager name usable as one level of a
// mailbox name.
func cleanName(n string) string {
	n = strings.Map(func(r rune) rune {
		switch {
		case r == delim:
			return '-'
		case r < ' ' || r == 0x7f:
			return -1
		}
		return r
	}, strings.TrimSpace(n))
	if n == "" {
		n = "(unnamed)"
	}
	return n
}

// mailboxes lists the shared folders and the staff member's own ones.
func (s *session) mailboxes() ([]mbox, error) {
	shared, err := s.srv.shared(s.ctx, s.company.ID)
	if err != nil {
		return nil, fmt.Errorf("shared folders: %w", err)
	}
	st := s.srv.cfg.Store
	if _, err := st.IMAPEnsureMailbox(s.ctx, s.company.ID, storage.IMAPMailbox{StaffID: s.staff.ID, Name: nameDrafts}); err != nil {
		return nil, fmt.Errorf("drafts: %w", err)
	}
	all, err := st.IMAPMailboxes(s.ctx, s.company.ID, s.staff.ID)
	if err != nil {
		return nil, err
	}
	out := append([]mbox(nil), shared...)
	for _, mb := range all {
		if mb.StaffID != s.staff.ID || mb.Virtual() {
			continue
		}
		m := mbox{IMAPMailbox: mb}
		if mb.Name == nameDrafts {
			m.special = imap.MailboxAttrDrafts
		}
		out = append(out, m)
	}
	return out, nil
}

// lookup finds a mailbox by name (INBOX in any case).
func (s *session) lookup(name string) (mbox, error) {
	if strings.EqualFold(name, nameInbox) {
		name = nameInbox
	}
	boxes, err := s.mailboxes()
	if err != nil {
		return mbox{}, s.internal("mailboxes", err)
	}
	for _, mb := range boxes {
		if mb.Name == name {
			return mb, nil
		}
	}
	return mbox{}, errNoMailbox
}

// reserved reports whether a name belongs to the shared folders.
func reserved(name string) bool {
	first, _, _ := strings.Cut(name, string(delim))
	return strings.EqualFold(first, nameInbox) || first == nameUnread || first == nameSent || first == nameFilters
}

// checkPrivateName validates the name of a private folder to create.
func checkPrivateName(name string) error {
	if name == "" || strings.Contains(name, "//") || strings.HasPrefix(name, "/") {
		return errNo(imap.ResponseCodeCannot, "Invalid mailbox name")
	}
	if reserved(name) {
		return errNo(imap.ResponseCodeCannot, "INBOX, Unread, Sent and Filters are shared folders of the company; choose another name")
	}
	return nil
}

// Create creates a private folder and any missing parents.
func (s *session) Create(name string, _ *imap.CreateOptions) error {
	name = strings.TrimRight(name, string(delim))
	if err := checkPrivateName(name); err != nil {
		return err
	}
	st := s.srv.cfg.Store
	parts := strings.Split(name, string(delim))
	for i := 1; i < len(parts); i++ {
		_, err := st.IMAPCreateMailbox(s.ctx, s.company.ID, s.staff.ID, strings.Join(parts[:i], string(delim)))
		if err != nil && !errors.Is(err, storage.ErrExists) {
			return s.internal("create", err)
		}
	}
	_, err := st.IMAPCreateMailbox(s.ctx, s.company.ID, s.staff.ID, name)
	if errors.Is(err, storage.ErrExists) {
		return errNo(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	}
	if err != nil {
		return s.internal("create", err)
	}
	s.publish()
	return nil
}

// own finds a private folder of the staff member for RENAME and DELETE.
func (s *session) own(name string) (mbox, error) {
	mb, err := s.lookup(name)
	if err != nil {
		return mb, err
	}
	if mb.Virtual() {
		return mb, errNo(imap.ResponseCodeCannot, "Shared folders of the company cannot be renamed or deleted")
	}
	if mb.Name == nameDrafts {
		return mb, errNo(imap.ResponseCodeCannot, "Drafts is kept for every staff member; it cannot be renamed or deleted")
	}
	return mb, nil
}

// Rename renames a private folder with its children.
func (s *session) Rename(from, to string, _ *imap.RenameOptions) error {
	if _, err := s.own(from); err != nil {
		return err
	}
	to = strings.TrimRight(to, string(delim))
	if err := checkPrivateName(to); err != nil {
		return err
	}
	if _, err := s.lookup(to); err == nil { // to == from included
		return errNo(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	}
	if strings.HasPrefix(to, from+string(delim)) {
		return errNo(imap.ResponseCodeCannot, "Cannot rename a mailbox into itself")
	}
	st := s.srv.cfg.Store
	err := st.IMAPRenameMailbox(s.ctx, s.company.ID, s.staff.ID, from, to)
	if errors.Is(err, storage.ErrExists) {
		return errNo(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	}
	if err != nil {
		return s.internal("rename", err)
	}
	parts := strings.Split(to, string(delim))
	for i := 1; i < len(parts); i++ {
		_, err := st.IMAPCreateMailbox(s.ctx, s.company.ID, s.staff.ID, strings.Join(parts[:i], string(delim)))
		if err != nil && !errors.Is(err, storage.ErrExists) {
			return s.internal("rename", err)
		}
	}
	s.publish()
	return nil
}

// Delete deletes a private folder and its messages. Folders inside it
// stay, under its name, which LIST then shows \Noselect (RFC 9051
// section 6.3.5).
func (s *session) Delete(name string) error {
	mb, err := s.own(name)
	if err != nil {
		return err
	}
	if err := s.srv.cfg.Store.IMAPDeleteMailbox(s.ctx, s.company.ID, s.staff.ID, mb.Name); err != nil {
		return s.internal("delete", err)
	}
	s.publish()
	return nil
}

// Subscribe and Unsubscribe keep the staff member's subscriptions. Every
// folder is subscribed until unsubscribed, so clients that show
// subscribed folders only show the shared inbox from the first login.
// SUBSCRIBE checks that the folder exists, as RFC 9051 section 6.3.7
// allows and Dovecot does: a name that is no folder could not be listed
// as subscribed.
func (s *session) Subscribe(name string) error   { return s.subscribe(name, true) }
func (s *session) Unsubscribe(name string) error { return s.subscribe(name, false) }

func (s *session) subscribe(name string, on bool) error {
	if strings.EqualFold(name, nameInbox) {
		name = nameInbox
	}
	if on {
		if _, err := s.lookup(name); err != nil {
			return err
		}
	}
	if err := s.srv.cfg.Store.IMAPSubscribe(s.ctx, s.staff.ID, name, on); err != nil {
		return s.internal("subscribe", err)
	}
	return nil
}
