package threading

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnermail/partnermail/storage"
)

// ThreadFinder finds the thread holding any of the given Message-IDs
// (received, or sent to a partner) of a company, trying them in order,
// and returns storage.ErrNotFound when none is known. storage.MessageStore
// implements it.
type ThreadFinder interface {
	ThreadByMessageID(ctx context.Context, companyID int64, ids []string) (storage.Thread, error)
}

// Via tells how Resolve found the thread.
type Via uint8

// How a thread was resolved, in the order Resolve tries them.
const (
	ViaToken      Via = iota + 1 // the recipient token names the thread (or campaign)
	ViaInReplyTo                 // a Message-ID of In-Reply-To is known
	ViaReferences                // a Message-ID of References is known
	ViaNewThread                 // nothing matched: start a new thread
)

// String returns the name used in logs: "token", "in-reply-to", "references" or "new-thread".
func (v Via) String() string {
	switch v {
	case ViaToken:
		return "token"
	case ViaInReplyTo:
		return "in-reply-to"
	case ViaReferences:
		return "references"
	case ViaNewThread:
		return "new-thread"
	}
	return "unknown"
}

// ErrNotThreaded is returned by Resolve for recipients whose mail never
// goes into a thread: bounce+, unsubscribe+ and addresses that are not
// the gateway's.
var ErrNotThreaded = errors.New("threading: address does not lead to a thread")

// Recipient is the gateway address a message was sent to, as classified
// by ParseAddress and, for token kinds, verified by Tokens.Verify.
type Recipient struct {
	Kind  Kind
	Token Token // for the token kinds
}

// Resolution says which thread a message belongs to.
type Resolution struct {
	Via Via
	// ThreadID is the existing thread; 0 means a new thread (ViaNewThread)
	// or, for a campaign token, the member's campaign thread, which
	// storage finds or creates from CampaignID and MemberID.
	ThreadID   int64
	CampaignID int64
	MemberID   int64 // the token's member, when the token has one
}

// Resolve decides the thread of a message to rcpt in the order of
// SPEC.md "Inbound SMTP": the recipient token first; then In-Reply-To,
// then References newest first, looked up with f; then, for the general
// partner address, a new thread. team+SLUG always starts a new thread.
// Nothing is ever matched by subject. inReplyTo and references are the
// raw header values.
//
// Resolve does not check who may write to the thread (the sender check),
// nor that a thread found by header belongs to the sender's team: the
// caller does, with the thread it loads.
func Resolve(ctx context.Context, f ThreadFinder, companyID int64, rcpt Recipient, inReplyTo, references string) (Resolution, error) {
	tok := rcpt.Token
	switch rcpt.Kind {
	case KindReply, KindThread:
		return Resolution{Via: ViaToken, ThreadID: tok.ThreadID, MemberID: tok.MemberID}, nil
	case KindCampaign:
		return Resolution{Via: ViaToken, CampaignID: tok.CampaignID, MemberID: tok.MemberID}, nil
	case KindTeam:
		return Resolution{Via: ViaNewThread}, nil
	case KindPartners:
	default:
		return Resolution{}, fmt.Errorf("resolve thread for %v address: %w", rcpt.Kind, ErrNotThreaded)
	}
	irt := ParseMessageIDList(inReplyTo)
	if id, ok, err := findThread(ctx, f, companyID, irt); err != nil || ok {
		return Resolution{Via: ViaInReplyTo, ThreadID: id}, err
	}
	refs := ParseMessageIDList(references)
	tried := make(map[string]bool, len(irt))
	for _, id := range irt {
		tried[id] = true
	}
	newestFirst := make([]string, 0, len(refs))
	for i := len(refs) - 1; i >= 0; i-- {
		if !tried[refs[i]] {
			newestFirst = append(newestFirst, refs[i])
		}
	}
	if id, ok, err := findThread(ctx, f, companyID, newestFirst); err != nil || ok {
		return Resolution{Via: ViaReferences, ThreadID: id}, err
	}
	return Resolution{Via: ViaNewThread}, nil
}

func findThread(ctx context.Context, f ThreadFinder, companyID int64, ids []string) (int64, bool, error) {
	if len(ids) == 0 {
		return 0, false, nil
	}
	t, err := f.ThreadByMessageID(ctx, companyID, ids)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("find thread by Message-ID: %w", err)
	}
	return t.ID, true, nil
}
