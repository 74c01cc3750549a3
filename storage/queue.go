package storage

import (
	"context"
	"time"
)

// States of an outbound email.
const (
	QueueQueued  = "queued"  // waiting for its next attempt
	QueueSent    = "sent"    // accepted by the relay (or captured)
	QueueFailed  = "failed"  // permanent failure or lifetime exceeded
	QueueDropped = "dropped" // removed by an administrator
)

// OutboundEmail is one email to one recipient: a notification of a staff
// message, or one campaign email.
type OutboundEmail struct {
	ID            int64
	CompanyID     int64
	MessageRowID  int64 // the staff message notified (0 for campaigns)
	CampaignID    int64 // the campaign sent (0 for notifications)
	MemberID      int64
	Rcpt          string // recipient address
	MessageID     string // Message-ID of this email, without angle brackets
	State         string
	Attempts      int
	NextAttemptAt time.Time
	ExpiresAt     time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Campaign is an email sent to all members of chosen groups.
type Campaign struct {
	ID        int64
	CompanyID int64
	StaffID   int64
	Subject   string
	Body      string
	Groups    []string // empty: all groups
	CreatedAt time.Time
}

// QueueStore is the durable outbound queue. Several processes may share it
// (PostgreSQL): each email is claimed by one of them at a time.
type QueueStore interface {
	// CreateCampaign stores a campaign and queues one email for each of
	// emails in one transaction; their CampaignID is filled in.
	CreateCampaign(ctx context.Context, c Campaign, emails []OutboundEmail) (Campaign, error)
	Campaign(ctx context.Context, companyID, id int64) (Campaign, error)
	// ClaimDue claims up to limit queued emails whose next attempt is due,
	// across companies, moving their next attempt to leaseUntil before
	// returning them: a crash mid-send leaves them queued for later.
	ClaimDue(ctx context.Context, now, leaseUntil time.Time, limit int) ([]OutboundEmail, error)
	// FinishAttempt records the outcome of one attempt: state, the next
	// attempt time (for QueueQueued) and the error text.
	FinishAttempt(ctx context.Context, id int64, state string, next time.Time, lastErr string) error
	OutboundEmail(ctx context.Context, id int64) (OutboundEmail, error)
	// Queue lists emails in the given state (all states when empty).
	Queue(ctx context.Context, companyID int64, state string, limit int) ([]OutboundEmail, error)
	// RetryEmail puts a failed email back in the queue, due now.
	RetryEmail(ctx context.Context, companyID, id int64) error
	DropEmail(ctx context.Context, companyID, id int64) error
}
