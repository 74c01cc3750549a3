// Package storage defines partnermail's domain and the contract of its
// database: the types every listener shares, the Store interface, and the
// streaming blob store that holds raw messages and attachments.
//
// Implementations live in storage/sqlstore (embedded SQLite and PostgreSQL);
// storage/storagetest is the conformance suite both must pass. Every method
// that touches tenant data takes the company id and never reads or changes a
// row of another company.
package storage

import (
	"context"
	"errors"
	"fmt"
)

// Errors returned by every Store implementation. Callers test them with
// errors.Is; implementations wrap them with detail.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
)

// RowError reports a bad row of a partner import; nothing was written.
type RowError struct {
	Line int // 1-based line of the input, counting the header as line 1
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// Store is the whole database of partnermail.
type Store interface {
	AdminStore
	MessageStore
	QueueStore
	Blobs() BlobStore
	// Close releases the database; it does not wait for callers.
	Close() error
}

// AdminStore holds the tenants and the partner directory.
type AdminStore interface {
	CreateCompany(ctx context.Context, c Company) (Company, error)
	Companies(ctx context.Context) ([]Company, error)
	CompanyBySlug(ctx context.Context, slug string) (Company, error)
	Company(ctx context.Context, id int64) (Company, error)
	// CompanyByDomain finds the company that owns an inbound mail domain
	// (matched case-insensitively).
	CompanyByDomain(ctx context.Context, domain string) (Company, error)

	CreateStaff(ctx context.Context, companyID int64, s Staff) (Staff, error)
	StaffList(ctx context.Context, companyID int64) ([]Staff, error)
	StaffByID(ctx context.Context, companyID, id int64) (Staff, error)
	// StaffByEmail finds a staff member by login across all companies; it
	// is the one unscoped lookup, used to authenticate.
	StaffByEmail(ctx context.Context, email string) (Staff, error)
	SetStaffPassword(ctx context.Context, companyID int64, email, hash string) error
	RemoveStaff(ctx context.Context, companyID int64, email string) error

	CreateGroup(ctx context.Context, companyID int64, name string) (Group, error)
	Groups(ctx context.Context, companyID int64) ([]Group, error)
	GroupByName(ctx context.Context, companyID int64, name string) (Group, error)
	Group(ctx context.Context, companyID, id int64) (Group, error)
	// SetGroupMessaging switches messaging for a group; text is the redirect
	// text partners get while it is off (kept, but unused, while on).
	SetGroupMessaging(ctx context.Context, companyID, groupID int64, enabled bool, text string) error

	// ImportPartners creates or updates teams and members from rows, all or
	// nothing: on any bad row it returns a *RowError and writes nothing.
	ImportPartners(ctx context.Context, companyID int64, rows []PartnerRow) (ImportResult, error)
	Teams(ctx context.Context, companyID int64, f TeamFilter) ([]Team, error)
	Team(ctx context.Context, companyID, id int64) (Team, error)
	TeamByName(ctx context.Context, companyID int64, name string) (Team, error)
	TeamBySlug(ctx context.Context, companyID int64, slug string) (Team, error)
	// UpdateTeam changes the non-nil fields of u.
	UpdateTeam(ctx context.Context, companyID, teamID int64, u TeamUpdate) (Team, error)
	Members(ctx context.Context, companyID, teamID int64) ([]Member, error)
	Member(ctx context.Context, companyID, id int64) (Member, error)
	MemberByEmail(ctx context.Context, companyID int64, email string) (Member, error)
	SetMemberNotifications(ctx context.Context, companyID, memberID int64, on bool) error
	// RecordBounce stores a bounce; a hard one turns the member's email
	// notifications off and sets its bounce state.
	RecordBounce(ctx context.Context, companyID int64, b Bounce) (Bounce, error)
	Bounces(ctx context.Context, companyID int64) ([]Bounce, error)
	// Audience lists, in one query, the members of the company's teams in
	// the given groups (every group when groupIDs is empty) that receive
	// email: notifications on and no hard bounce. Groups with messaging
	// disabled are included (they still receive campaigns). Ordered by id.
	Audience(ctx context.Context, companyID int64, groupIDs []int64) ([]Member, error)
}

// PartnerRow is one line of a partner import.
type PartnerRow struct {
	Line               int // for errors
	Team               string
	Group              string // must exist
	Manager            string // staff email, or empty
	Status             string
	MemberEmail        string
	MemberName         string
	EmailNotifications bool
}

// ImportResult counts what an import changed.
type ImportResult struct {
	TeamsCreated, TeamsUpdated     int
	MembersCreated, MembersUpdated int
}

// TeamFilter selects teams; zero fields match everything.
type TeamFilter struct {
	GroupID   int64
	Status    string
	ManagerID int64
}

// TeamUpdate names the team fields to change; nil leaves a field alone.
// ManagerID 0 removes the manager.
type TeamUpdate struct {
	GroupID   *int64
	ManagerID *int64
	Status    *string
}

// MessageStore holds conversations.
type MessageStore interface {
	Thread(ctx context.Context, companyID, id int64) (Thread, error)
	Threads(ctx context.Context, companyID int64) ([]Thread, error)
	// ThreadByMessageID returns the thread holding any of the given
	// Message-IDs (received, or sent to a partner) of the company, trying
	// them in order; ErrNotFound when none is known.
	ThreadByMessageID(ctx context.Context, companyID int64, ids []string) (Thread, error)
	// Deliver stores one message, and its new thread when d.ThreadID is 0,
	// in one transaction, together with its outbound emails. The raw blob
	// and attachment blobs must already be committed. A message whose
	// Message-ID is already stored in the same thread is not stored again:
	// Deliver returns the stored one and created=false.
	Deliver(ctx context.Context, d Delivery) (m Message, created bool, err error)
	Message(ctx context.Context, companyID, id int64) (Message, error)
	ThreadMessages(ctx context.Context, companyID, threadID int64) ([]Message, error)
}

// Delivery is one message to store.
type Delivery struct {
	ThreadID int64 // existing thread; 0 creates NewThread
	// NewThread is created when ThreadID is 0. A campaign thread (non-zero
	// CampaignID and MemberID) is found instead when one already exists.
	NewThread Thread
	Message   Message
	// MessageIDs are extra Message-IDs to link to the thread (for example
	// the ones of the outbound emails), besides Message.MessageID.
	MessageIDs []string
	// Outbound emails queued in the same transaction; their MessageRowID
	// is filled in.
	Outbound []OutboundEmail
}
