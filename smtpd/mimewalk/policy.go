package mimewalk

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Size units used by the default policy. SPEC.md says "MB"; we read it as
// MiB, the generous interpretation, so a file a client shows as "30 MB" fits.
const (
	MiB = 1 << 20
)

// Class is one kind of accepted attachment: a set of sniffed media types and
// the largest decoded size accepted for them.
type Class struct {
	Name    string   // human name used in error texts, e.g. "JPEG, PNG, GIF images"
	Types   []string // sniffed media types, as mimetype reports them
	MaxSize int64    // decoded bytes; 0 means no limit
}

// Policy decides which attachments a message may carry. The zero Policy
// accepts no attachment at all; use DefaultPolicy.
type Policy struct {
	// MaxAttachments is the most attachments one message may carry
	// (files unpacked from winmail.dat count one by one).
	MaxAttachments int
	// Classes lists what is accepted; anything not listed is refused.
	Classes []Class
	// Summary is the rule as shown to senders, e.g. "only JPEG, PNG, GIF
	// images (up to 30 MB) and PDF or office documents (up to 250 MB) are
	// accepted".
	Summary string
}

// Media types of the office documents SPEC.md lists (doc, docx, xls, xlsx,
// ppt, pptx, odt, ods, odp), as mimetype names them.
var officeTypes = []string{
	"application/msword",
	"application/vnd.ms-excel",
	"application/vnd.ms-powerpoint",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/vnd.oasis.opendocument.text",
	"application/vnd.oasis.opendocument.spreadsheet",
	"application/vnd.oasis.opendocument.presentation",
}

// DefaultPolicy returns the attachment policy of SPEC.md: at most 10
// attachments; JPEG, PNG, GIF up to 30 MiB; PDF and office documents up to
// 250 MiB; anything else refused.
func DefaultPolicy() Policy {
	return Policy{
		MaxAttachments: 10,
		Classes: []Class{
			{Name: "image", Types: []string{"image/jpeg", "image/png", "image/gif"}, MaxSize: 30 * MiB},
			{Name: "document", Types: append([]string{"application/pdf"}, officeTypes...), MaxSize: 250 * MiB},
		},
		Summary: "only JPEG, PNG, GIF images (up to 30 MB) and PDF or office documents " +
			"(doc, docx, xls, xlsx, ppt, pptx, odt, ods, odp; up to 250 MB) are accepted",
	}
}

// Classify returns the class that accepts the sniffed media type, if any.
func (p Policy) Classify(mediaType string) (Class, bool) {
	for _, c := range p.Classes {
		for _, t := range c.Types {
			if strings.EqualFold(t, mediaType) {
				return c, true
			}
		}
	}
	return Class{}, false
}

// Rule names which part of the policy a message broke.
type Rule string

// Rules of the attachment policy.
const (
	RuleCount Rule = "count" // more attachments than Policy.MaxAttachments
	RuleType  Rule = "type"  // a sniffed type no Class accepts
	RuleSize  Rule = "size"  // larger than its Class's MaxSize
)

// PolicyError is an attachment policy violation. Its Error text names the
// file and the rule and is meant to be shown to the sender as-is (it is
// plain ASCII apart from the file name, which is quoted with %q).
type PolicyError struct {
	File string // the attachment's file name as sent (sanitised)
	// Container names the winmail.dat the file was unpacked from; "" for
	// files attached directly.
	Container string
	Type      string // the sniffed media type ("" for RuleCount)
	Rule      Rule
	Size      int64 // decoded bytes seen when the size rule tripped
	Limit     int64 // the limit that was exceeded (count or bytes)
	// Code and Enhanced are the SMTP reply for this violation
	// (e.g. 552 and {5,3,4} for size; 554 and {5,6,1} for type).
	Code     int
	Enhanced [3]int
	Summary  string // the policy's Summary, quoted in the text
}

func (e *PolicyError) Error() string {
	file := fmt.Sprintf("%q", e.File)
	if e.Container != "" {
		file += fmt.Sprintf(" (in %q)", e.Container)
	}
	switch e.Rule {
	case RuleCount:
		return fmt.Sprintf("attachment %s is number %d: at most %d attachments are accepted per message",
			file, e.Limit+1, e.Limit)
	case RuleSize:
		return fmt.Sprintf("attachment %s (%s) is larger than %s: %s",
			file, e.Type, humanSize(e.Limit), e.Summary)
	default:
		what := e.Type
		if e.Type == "message/rfc822" {
			what = "a forwarded email (message/rfc822); forward its files or text instead"
		}
		return fmt.Sprintf("attachment %s is %s: %s", file, what, e.Summary)
	}
}

func humanSize(n int64) string {
	if n%MiB == 0 {
		return fmt.Sprintf("%d MB", n/MiB)
	}
	return fmt.Sprintf("%d bytes", n)
}

// IsPolicy reports whether err is (or wraps) a *PolicyError.
func IsPolicy(err error) bool {
	var pe *PolicyError
	return errors.As(err, &pe)
}

func (p Policy) errType(file, typ string) *PolicyError {
	return &PolicyError{File: file, Type: typ, Rule: RuleType, Code: 554, Enhanced: [3]int{5, 6, 1}, Summary: p.Summary}
}

func (p Policy) errSize(file, typ string, size, limit int64) *PolicyError {
	return &PolicyError{File: file, Type: typ, Rule: RuleSize, Size: size, Limit: limit,
		Code: 552, Enhanced: [3]int{5, 3, 4}, Summary: p.Summary}
}

func (p Policy) errCount(file string) *PolicyError {
	return &PolicyError{File: file, Rule: RuleCount, Limit: int64(p.MaxAttachments),
		Code: 554, Enhanced: [3]int{5, 6, 0}, Summary: p.Summary}
}

// CheckFile checks one file against the policy before it is sent, for
// callers that have the file at hand (the CLI's `message send --attach`).
// index is the file's 1-based position among the message's attachments.
// It sniffs the type from r's first bytes and, if size is unknown (< 0),
// reads r to the end to count it. It returns the sniffed media type.
func (p Policy) CheckFile(name string, index int, r io.Reader, size int64) (string, error) {
	if index > p.MaxAttachments {
		return "", p.errCount(name)
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", fmt.Errorf("read %q: %w", name, err)
	}
	typ := Sniff(head[:n])
	class, ok := p.Classify(typ)
	if !ok {
		return typ, p.errType(name, typ)
	}
	if size < 0 {
		rest, err := io.Copy(io.Discard, r)
		if err != nil {
			return typ, fmt.Errorf("read %q: %w", name, err)
		}
		size = int64(n) + rest
	}
	if class.MaxSize > 0 && size > class.MaxSize {
		return typ, p.errSize(name, typ, size, class.MaxSize)
	}
	return typ, nil
}
