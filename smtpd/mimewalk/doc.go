// Package mimewalk reads one RFC 5322 message once, as it streams in, and
// splits it into what partnermail stores: the raw bytes (unchanged, into a
// blob), the parsed header, the best text body, and each attachment decoded
// into its own blob, while enforcing the attachment policy of SPEC.md
// ("Inbound SMTP": at most 10 attachments; JPEG, PNG, GIF up to 30 MiB;
// PDF and office documents up to 250 MiB; anything else refused).
//
// The walk is a single pass: the input is read through an io.TeeReader that
// copies every byte to the raw blob while the MIME parser consumes it, so a
// message is never buffered whole and memory does not grow with its size.
// Attachment types are sniffed from their decoded first bytes with
// github.com/gabriel-vasile/mimetype; header types and file names are never
// trusted. Outlook's application/ms-tnef (winmail.dat) is unpacked and each
// file inside is checked and stored as if attached directly.
//
// The inbound listener, the submission listener and the CLI all use the same
// Policy, so a file that is refused on one path is refused on every path.
package mimewalk
