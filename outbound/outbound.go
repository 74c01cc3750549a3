// Package outbound delivers partnermail's email to partners: it records
// staff messages and campaigns with one queued email per recipient (post.go),
// composes each email from the templates when it is due (compose*.go), and
// sends it through a relay or captures it to a file (worker*.go,
// transport*.go), retrying temporary failures until the email's lifetime ends.
package outbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/wneessen/go-mail"

	"github.com/partnermail/partnermail/storage"
)

// Email is one composed email, ready for a transport. Transports write it
// with e.WriteTo (compose_attach.go), which streams attachments from their
// blobs; e.Msg.WriteTo (and go-mail's Client.Send) buffers each one whole.
type Email struct {
	From string    // envelope sender: bounce+TOKEN@<company domain>
	To   string    // envelope recipient: the member's address
	Msg  *mail.Msg // headers and body; attachments read from blobs when written
	// Close releases what Msg reads from (blobs); nil when nothing.
	Close func() error

	stream *streamSink // set by the composer for attachments (compose_attach.go)
}

// Composer builds the email of one queued row (notification or campaign).
// The worker calls it at send time, so queue rows stay small.
type Composer interface {
	Compose(ctx context.Context, e storage.OutboundEmail) (*Email, error)
}

// Transport sends composed emails, reusing its connection across calls.
type Transport interface {
	Send(ctx context.Context, e *Email) error
	Close() error
}

// Post is one staff message to partners: a reply in a thread, or a new
// conversation with a team or with one member.
type Post struct {
	CompanyID int64
	StaffID   int64
	ThreadID  int64 // existing thread; 0 starts a new one:
	TeamID    int64 // the team of the new conversation
	MemberID  int64 // set for a conversation with one member of TeamID
	// Message is the stored, parsed message: RawKey, Size, Subject,
	// MessageID, InReplyTo, Text, Attachments, Date. Direction, author and
	// company are filled in by Post.
	Message storage.Message
}

// DisabledError refuses a message to a team whose group has messaging
// switched off; Text is the group's redirect text.
type DisabledError struct {
	Group string
	Text  string
}

func (e *DisabledError) Error() string {
	return fmt.Sprintf("messaging is disabled for partner group %q: %s", e.Group, e.Text)
}

// ErrNoAudience is returned for a post whose thread, team or member does
// not exist in the company.
var ErrNoAudience = errors.New("no such thread, team or member")
