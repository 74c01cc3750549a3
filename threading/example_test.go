package threading_test

import (
	"context"
	"fmt"
	"time"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// noThreads is a ThreadFinder that knows no Message-ID.
type noThreads struct{}

func (noThreads) ThreadByMessageID(ctx context.Context, companyID int64, ids []string) (storage.Thread, error) {
	return storage.Thread{}, storage.ErrNotFound
}

// The inbound path: classify the recipient at RCPT time, verify its token
// against the company owning the domain, then resolve the thread.
func Example() {
	tokens, err := threading.NewTokens([]threading.Key{
		{ID: 2, Secret: []byte("a 32 byte secret from the config")},
	}, nil)
	if err != nil {
		panic(err)
	}
	// Outbound: a notification for thread 42 to member 7 of company 1.
	replyTo, _ := tokens.MintAddress(threading.Token{Kind: threading.KindReply, CompanyID: 1, ThreadID: 42, MemberID: 7}, "partners.acme.example")

	// Inbound: RCPT TO:<replyTo>; the domain belongs to company 1.
	local, _, _ := threading.SplitAddress(replyTo)
	kind, value := threading.ParseAddress(local, "")
	tok, err := tokens.Verify(kind, 1, value)
	if err != nil {
		fmt.Println("550 5.1.1:", err) // forged, foreign or expired
		return
	}
	res, err := threading.Resolve(context.Background(), noThreads{}, 1, threading.Recipient{Kind: kind, Token: tok}, "", "")
	fmt.Println(kind, res.Via, res.ThreadID, res.MemberID, err)

	// The same token at another company's domain is refused.
	_, err = tokens.Verify(kind, 2, value)
	fmt.Println(err)
	// Output:
	// reply token 42 7 <nil>
	// threading: token is for another company: minted for company 1, received for company 2
}

func ExampleExtract() {
	fmt.Println(threading.Extract("Works for us.\n\nOn Mon, Mar 4, 2024 at 10:15 AM Anna <anna@acme.example> wrote:\n> Does Friday work?\n"))
	// Output: Works for us.
}

func ExampleIsAutoReply() {
	h := map[string][]string{"Auto-Submitted": {"auto-replied"}}
	auto, reason := threading.IsAutoReply(mimeHeader(h), "partner@reseller.example")
	fmt.Println(auto, reason)
	// Output: true Auto-Submitted: auto-replied
}

type mimeHeader map[string][]string

func (h mimeHeader) Get(k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func ExampleNewMessageID() {
	id := threading.NewMessageID("partners.acme.example", time.Now())
	fmt.Println(threading.ParseMessageIDList("<" + id + ">")[0] == id)
	// Output: true
}
