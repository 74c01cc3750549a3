package outbound

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/partnermail/partnermail/storage"
)

// Attachments are streamed from their blobs. go-mail encodes every part
// into a bytes.Buffer before writing it (msgwriter.go writeBody), which
// for a 250 MB file would hold ~340 MB per email. Email.WriteTo avoids
// that: while it runs, each attachment's reader writes its base64 lines
// straight to the output, after go-mail has written the part's headers
// there, and hands go-mail nothing to buffer. Msg.WriteTo on its own
// (go-mail's Client.Send, DKIM signing by go-mail) still works, buffered.

// streamSink is the output of the Email.WriteTo in progress, shared by
// the email's attachments.
type streamSink struct {
	out *countWriter // nil: not streaming
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteTo writes the whole email (headers and body) to w, streaming the
// attachments from their blobs. Transports use it rather than
// e.Msg.WriteTo, which buffers each attachment whole. It is not safe to
// call concurrently on one Email.
func (e *Email) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	if e.stream != nil {
		e.stream.out = cw
		defer func() { e.stream.out = nil }()
	}
	_, err := e.Msg.WriteTo(cw)
	return cw.n, err
}

// blobPart is an attachment's reader. go-mail's AttachReadSeeker copies
// it with io.Copy, which calls WriteTo.
type blobPart struct {
	storage.Blob
	sink *streamSink
}

// WriteTo writes the blob to w (go-mail's buffered base64 encoder), or,
// while the email streams, base64-encodes it straight to the output and
// writes nothing to w. The output must already hold the email's headers:
// when it holds nothing, go-mail is writing into a buffer of its own
// first (DKIM), and the blob goes through w like any part.
func (p *blobPart) WriteTo(w io.Writer) (int64, error) {
	if out := p.sink.out; out != nil && out.n > 0 {
		bw := bufio.NewWriterSize(out, 64<<10) // whole lines, not 78-byte writes
		lb := &lineBreaker{w: bw}
		enc := base64.NewEncoder(base64.StdEncoding, lb)
		if _, err := io.Copy(enc, struct{ io.Reader }{p.Blob}); err != nil {
			return 0, err
		}
		if err := enc.Close(); err != nil {
			return 0, err
		}
		if err := lb.Close(); err != nil {
			return 0, err
		}
		return 0, bw.Flush()
	}
	return io.Copy(w, struct{ io.Reader }{p.Blob})
}

// lineBreaker cuts base64 into lines of 76 characters ending in CRLF
// (RFC 2045 section 6.8).
type lineBreaker struct {
	w    io.Writer
	line [78]byte
	used int
}

func (l *lineBreaker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := copy(l.line[l.used:76], p)
		l.used += c
		p = p[c:]
		if l.used == 76 {
			if err := l.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (l *lineBreaker) flush() error {
	l.line[l.used], l.line[l.used+1] = '\r', '\n'
	_, err := l.w.Write(l.line[:l.used+2])
	l.used = 0
	return err
}

// Close ends the last line.
func (l *lineBreaker) Close() error {
	if l.used == 0 {
		return nil
	}
	return l.flush()
}

// attach opens the blobs of atts and attaches them to e.Msg; e.Close
// closes them.
func (c *TemplateComposer) attach(ctx context.Context, e *Email, atts []storage.Attachment) error {
	if len(atts) == 0 {
		return nil
	}
	e.stream = &streamSink{}
	var blobs []storage.Blob
	e.Close = func() error {
		var errs []error
		for _, b := range blobs {
			errs = append(errs, b.Close())
		}
		return errors.Join(errs...)
	}
	for _, a := range atts {
		b, err := c.cfg.Store.Blobs().Open(ctx, a.BlobKey)
		if err != nil {
			e.Close()
			return fmt.Errorf("attachment %q: %w", a.Filename, err)
		}
		blobs = append(blobs, b)
		name := attachmentName(a.Filename)
		ct := "application/octet-stream"
		if t, _, err := mime.ParseMediaType(a.ContentType); err == nil && !strings.HasPrefix(t, "multipart/") {
			ct = t
		}
		e.Msg.AttachReadSeeker(name, &blobPart{Blob: b, sink: e.stream},
			gomail.WithFileContentType(gomail.ContentType(ct)))
	}
	return nil
}

// maxNameBytes bounds an attachment's filename in UTF-8 octets: go-mail
// writes it, Q-encoded, on one line of each part header, and lines must
// stay under 998 octets (RFC 5322 section 2.1.1).
const maxNameBytes = 120

// attachmentName is a filename fit for the part headers: one line, at
// most maxNameBytes, its extension kept when it is shortened.
func attachmentName(name string) string {
	name = headerText(name)
	if name == "" {
		return "attachment"
	}
	if len(name) <= maxNameBytes {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 16 {
		ext = ""
	}
	base := strings.TrimSuffix(name, ext)
	for len(base)+len(ext) > maxNameBytes {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + ext
}
