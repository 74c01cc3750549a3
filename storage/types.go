package storage

import "time"

// Application statuses of a partner team.
const (
	StatusApproved = "approved"
	StatusPending  = "pending"
	StatusDeclined = "declined"
)

// Bounce states of a partner member.
const (
	BounceNone = ""     // mail to the member is delivered
	BounceSoft = "soft" // a temporary failure was reported
	BounceHard = "hard" // the address does not exist; notifications are off
)

// Message directions.
const (
	DirectionIn  = "in"  // written by a partner member
	DirectionOut = "out" // written by a staff member
)

// Company is a tenant. Every other row belongs to exactly one company.
type Company struct {
	ID       int64
	Slug     string
	Name     string
	FromAddr string   // From address of notifications, e.g. partners@acme.example
	Partners string   // local part of the general partner address, default "partners"
	Domains  []string // inbound mail domains, lower case; the first is primary
}

// Staff is a company user who reads the shared inbox over IMAP.
type Staff struct {
	ID           int64
	CompanyID    int64
	Email        string // lower case, unique across all companies (it is the login)
	Name         string
	Admin        bool
	PasswordHash string
}

// Group is a set of partner teams with one messaging switch.
type Group struct {
	ID              int64
	CompanyID       int64
	Name            string
	MessagesEnabled bool
	DisabledMessage string // redirect text partners get while messaging is off
}

// Team is a partner team.
type Team struct {
	ID           int64
	CompanyID    int64
	Name         string
	Slug         string // local part after "team+", derived from Name
	GroupID      int64
	GroupName    string
	ManagerID    int64 // 0: no program manager assigned
	ManagerName  string
	ManagerEmail string
	Status       string // StatusApproved, StatusPending or StatusDeclined
}

// Member is a partner member: one person of a team, known by email.
type Member struct {
	ID                 int64
	CompanyID          int64
	TeamID             int64
	Email              string // lower case, unique within a company
	Name               string
	EmailNotifications bool
	BounceState        string // BounceNone, BounceSoft or BounceHard
	BounceDetail       string
}

// Thread is one conversation with a partner team or one of its members.
type Thread struct {
	ID         int64
	CompanyID  int64
	TeamID     int64
	MemberID   int64 // 0: the audience is the whole team
	CampaignID int64 // non-zero when the thread started as a campaign reply
	Subject    string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Message is one message of a thread, written by a partner or by staff.
type Message struct {
	ID             int64
	CompanyID      int64
	ThreadID       int64
	Direction      string // DirectionIn or DirectionOut
	AuthorStaffID  int64  // set when Direction is DirectionOut
	AuthorMemberID int64  // set when Direction is DirectionIn
	MessageID      string // RFC 5322 Message-ID without angle brackets
	InReplyTo      string
	Subject        string
	FromAddr       string
	Date           time.Time // the Date header, or arrival time
	Size           int64     // size of the raw message in octets
	RawKey         string    // blob key of the raw MIME message, byte-exact
	Text           string    // extracted reply text (quotes and signature stripped)
	AutoReply      bool      // auto-replies stay out of Unread and never notify
	Seen           bool      // the one read flag shared by the whole company
	Answered       bool      // staff replied after this message
	Flagged        bool
	AuthResults    string // Authentication-Results value recorded at arrival
	CreatedAt      time.Time
	Attachments    []Attachment
}

// Attachment is one file of a message, stored as its own decoded blob.
type Attachment struct {
	ID          int64
	Filename    string
	ContentType string // sniffed from the content, not taken from headers
	Size        int64
	BlobKey     string
}

// Bounce is a delivery failure reported for a member.
type Bounce struct {
	ID        int64
	CompanyID int64
	MemberID  int64
	Email     string
	Hard      bool
	Detail    string
	CreatedAt time.Time
}
