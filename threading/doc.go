// Package threading decides which conversation an inbound mail belongs to
// and what it says.
//
// It mints and verifies the tokens of the gateway's addresses
// (reply+TOKEN@D, campaign+TOKEN@D, bounce+TOKEN@D, unsubscribe+TOKEN@D,
// thread+TOKEN@D), generates and parses Message-IDs, resolves the thread in
// the order of SPEC.md "Inbound SMTP" (token, then In-Reply-To/References,
// then a new thread; never by subject), extracts the new text of a reply
// (quoted history and signatures stripped), classifies auto-replies
// (RFC 3834) and parses delivery status notifications (RFC 3464).
//
// The package is pure logic: it holds no database and no global state;
// consumers pass data in and supply the one lookup it needs as a small
// interface.
package threading
