package storage

import (
	"context"
	"time"
)

// IMAPStore keeps the state of the IMAP view: mailboxes, their UIDs, the
// private messages of staff folders, and the shared flags.
//
// A virtual mailbox (Filter set, StaffID 0) lists the shared messages of a
// company that match its filter. Its UIDs are kept in the database: IMAPSync
// gives a new, higher UID to each message that starts matching and marks a
// message that stops matching as gone (sessions that have the folder open
// keep showing it until they expunge). A private mailbox (Filter empty)
// belongs to one staff member and holds private messages.
type IMAPStore interface {
	// IMAPMailboxes lists the shared mailboxes of the company and the
	// private ones of the staff member.
	IMAPMailboxes(ctx context.Context, companyID, staffID int64) ([]IMAPMailbox, error)
	// IMAPEnsureMailbox returns the mailbox named mb.Name of mb.StaffID,
	// creating it with mb.Filter when missing. A virtual mailbox is looked
	// up by its filter and renamed when its name changed.
	IMAPEnsureMailbox(ctx context.Context, companyID int64, mb IMAPMailbox) (IMAPMailbox, error)
	// IMAPCreateMailbox creates a private mailbox; ErrExists if taken.
	IMAPCreateMailbox(ctx context.Context, companyID, staffID int64, name string) (IMAPMailbox, error)
	// IMAPRenameMailbox renames a private mailbox and its children.
	IMAPRenameMailbox(ctx context.Context, companyID, staffID int64, from, to string) error
	// IMAPDeleteMailbox deletes a private mailbox and its messages.
	IMAPDeleteMailbox(ctx context.Context, companyID, staffID int64, name string) error

	// IMAPSync brings a virtual mailbox's UIDs up to date with the
	// company's messages and returns the mailbox state.
	IMAPSync(ctx context.Context, companyID, mailboxID int64) (IMAPState, error)
	// IMAPUIDs lists the live (not gone) UIDs of a mailbox from uid on.
	IMAPUIDs(ctx context.Context, companyID, mailboxID int64, from uint32) ([]uint32, error)
	// IMAPMessages returns the messages of the given UIDs (gone ones
	// included), in UID order; unknown UIDs are skipped.
	IMAPMessages(ctx context.Context, companyID, mailboxID int64, uids []uint32) ([]IMAPMessage, error)
	// IMAPMessagesCached is IMAPMessages with Cached filled in the same
	// query (BodyStructure only when structure is true).
	IMAPMessagesCached(ctx context.Context, companyID, mailboxID int64, uids []uint32, structure bool) ([]IMAPMessage, error)
	// IMAPEnvelopes is IMAPMessagesCached reduced to what FETCH ENVELOPE
	// reads, in UID order: UID, MessageID, RawKey, Prefix, ThreadID and
	// Cached.Envelope; the other fields (Gone too) are left zero. RawKey
	// may be left empty too for a shared message with a cached ENVELOPE
	// (IMAPMessages has it). known, when not nil, reports the shared
	// messages whose cached ENVELOPE the caller holds already: their
	// Cached.Envelope and RawKey may be left empty.
	IMAPEnvelopes(ctx context.Context, companyID, mailboxID int64, uids []uint32, known func(messageID int64) bool) ([]IMAPMessage, error)
	// IMAPChanges lists the messages of a mailbox below uidNext whose
	// flags changed, or which were expunged (private mailboxes), after
	// modseq since and up to until.
	IMAPChanges(ctx context.Context, companyID, mailboxID int64, since, until int64, uidNext uint32) ([]IMAPChange, error)
	// IMAPStoreFlags changes the flags of the given UIDs and returns the
	// new flags of every message that changed. In a virtual mailbox only
	// \Seen, \Answered and \Flagged are kept (shared by the company).
	IMAPStoreFlags(ctx context.Context, companyID, mailboxID int64, uids []uint32, op IMAPFlagOp, flags []string) ([]IMAPChange, error)
	// IMAPAppend adds a private message to a private mailbox.
	IMAPAppend(ctx context.Context, companyID, mailboxID int64, m IMAPMessage) (uint32, error)
	// IMAPCopy copies messages into a private mailbox as private copies;
	// prefix gives the headers of the staff view for a shared message id.
	// It returns the source and destination UIDs, in order.
	IMAPCopy(ctx context.Context, companyID, fromMailbox int64, uids []uint32, toMailbox int64, prefix func(IMAPMessage) string) (src, dst []uint32, err error)
	// IMAPExpunge removes private messages: the given UIDs, or when uids
	// is nil every message flagged \Deleted. It returns the removed UIDs.
	IMAPExpunge(ctx context.Context, companyID, mailboxID int64, uids []uint32) ([]uint32, error)
	// IMAPOutboundByMessageID finds a staff-written message of the company
	// by its Message-ID; ErrNotFound when there is none.
	IMAPOutboundByMessageID(ctx context.Context, companyID int64, messageID string) (Message, error)
	// IMAPModseq returns the company's current modification sequence.
	IMAPModseq(ctx context.Context, companyID int64) (int64, error)
	// IMAPCache returns the cached ENVELOPE and BODYSTRUCTURE (opaque
	// JSON) of shared messages by id; IMAPSetCache stores them.
	IMAPCache(ctx context.Context, companyID int64, ids []int64) (map[int64]IMAPCached, error)
	IMAPSetCache(ctx context.Context, companyID, id int64, c IMAPCached) error
	// IMAPSetCaches stores many parses in one transaction. An empty field
	// keeps the value already stored.
	IMAPSetCaches(ctx context.Context, companyID int64, c map[int64]IMAPCached) error
	// IMAPUncached lists up to limit stored messages, of every company,
	// with an id above afterID and no cached ENVELOPE, by id.
	IMAPUncached(ctx context.Context, afterID int64, limit int) ([]IMAPUncachedMessage, error)
	// IMAPLastMessageID is the highest id of a stored message, of every
	// company (0 when there is none).
	IMAPLastMessageID(ctx context.Context) (int64, error)

	// IMAPStatus counts the live messages of a mailbox.
	IMAPStatus(ctx context.Context, companyID, mailboxID int64) (IMAPCounts, error)
	// IMAPFlagUIDs lists the UIDs of a mailbox, gone ones included, whose
	// flag is set (set true) or not set (set false).
	IMAPFlagUIDs(ctx context.Context, companyID, mailboxID int64, flag string, set bool) ([]uint32, error)
	// IMAPUnsubscribed lists the folder names a staff member
	// unsubscribed from; every other folder counts as subscribed.
	IMAPUnsubscribed(ctx context.Context, staffID int64) ([]string, error)
	// IMAPSubscribe records SUBSCRIBE (subscribed true) or UNSUBSCRIBE.
	IMAPSubscribe(ctx context.Context, staffID int64, name string, subscribed bool) error
	// IMAPKeywords lists, sorted, the keywords (flags not starting with
	// a backslash) set on live messages of a private mailbox from UID
	// fromUID on: from 0, the mailbox's FLAGS as SELECT reports them;
	// from an old UIDNEXT, what new messages brought.
	IMAPKeywords(ctx context.Context, companyID, mailboxID int64, fromUID uint32) ([]string, error)
	// IMAPUIDRuns lists the live UIDs of a mailbox from uid on as runs of
	// consecutive UIDs (first, last), in order: IMAPUIDs, compact.
	IMAPUIDRuns(ctx context.Context, companyID, mailboxID int64, from uint32) ([][2]uint32, error)
	// IMAPGoneSince lists the UIDs of a mailbox that went gone (stopped
	// matching, or were expunged) after modseq since.
	IMAPGoneSince(ctx context.Context, companyID, mailboxID int64, since int64) ([]uint32, error)
	// IMAPFlags returns the flags of the given UIDs (gone ones included),
	// in UID order: IMAPMessages reduced to UID and Flags.
	IMAPFlags(ctx context.Context, companyID, mailboxID int64, uids []uint32) ([]IMAPChange, error)
	// IMAPUIDOf returns the live UID of a shared message in a virtual
	// mailbox; ErrNotFound when it is not listed there.
	IMAPUIDOf(ctx context.Context, companyID, mailboxID, messageID int64) (uint32, error)
	// IMAPMove moves messages of a private mailbox into another private
	// mailbox in one transaction, whatever their flags, and returns the
	// source and destination UIDs, in order.
	IMAPMove(ctx context.Context, companyID, fromMailbox int64, uids []uint32, toMailbox int64) (src, dst []uint32, err error)
}

// IMAPCounts are the live message counts of a mailbox (STATUS).
type IMAPCounts struct {
	Messages, Unseen, Deleted uint32
	Size                      int64 // of the raw blobs, without prefixes
}

// Filters of virtual mailboxes: a kind, with ":<id or status>" for the
// filter folders and ":unread" appended for the Unread children.
const (
	FilterAll     = "all"     // partner messages (INBOX)
	FilterUnread  = "unread"  // partner messages not seen, auto-replies excluded
	FilterSent    = "sent"    // staff-written messages
	FilterGroup   = "group"   // "group:<id>"
	FilterManager = "manager" // "manager:<staff id>"
	FilterStatus  = "status"  // "status:pending"
)

// IMAPMailbox is one mailbox of the IMAP view.
type IMAPMailbox struct {
	ID        int64 // also its UIDVALIDITY
	CompanyID int64
	StaffID   int64  // 0 for a shared virtual mailbox
	Name      string // full name, "/"-separated
	Filter    string // empty for a private mailbox
	UIDNext   uint32
}

// Virtual reports whether the mailbox is a shared virtual folder.
func (m IMAPMailbox) Virtual() bool { return m.Filter != "" }

// IMAPState is the state of a mailbox after IMAPSync.
type IMAPState struct {
	UIDValidity uint32
	UIDNext     uint32
	Modseq      int64 // the company modseq the mailbox is synced up to
}

// IMAPMessage is one message of a mailbox as the IMAP view serves it.
type IMAPMessage struct {
	UID       uint32
	MessageID int64 // the shared message (0 for a private message of its own)
	Gone      bool
	Flags     []string
	Size      int64 // of the raw blob, without Prefix
	Date      time.Time
	RawKey    string
	// Prefix is the header block the view prepends: stored for private
	// copies, empty for shared messages (the server builds it from the
	// fields below).
	Prefix string
	// Shared message context (zero for private messages).
	ThreadID                         int64
	TeamName, GroupName, ManagerName string
	TeamStatus                       string
	Direction                        string
	AuthResults                      string // Authentication-Results value recorded at arrival
	// Cached is the cached parse of the shared message, filled by
	// IMAPMessagesCached only.
	Cached IMAPCached
}

// IMAPChange is a flag change or an expunge of one message.
type IMAPChange struct {
	UID      uint32
	Flags    []string
	Expunged bool
}

// IMAPFlagOp is how IMAPStoreFlags applies its flags.
type IMAPFlagOp int

// Flag operations of STORE.
const (
	IMAPFlagsSet IMAPFlagOp = iota
	IMAPFlagsAdd
	IMAPFlagsDel
)

// IMAPUncachedMessage is a message whose ENVELOPE is not cached yet.
type IMAPUncachedMessage struct {
	ID, CompanyID int64
	RawKey        string
}

// IMAPCached is the cached parse of a message: opaque to storage.
type IMAPCached struct {
	Envelope      string
	BodyStructure string
}
