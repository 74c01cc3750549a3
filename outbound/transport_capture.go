package outbound

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Capture is the transport of dev mode: instead of sending, it writes each
// email as an .eml file in one folder, so that the product can be tried
// without a relay. The file is named after the email's Message-ID, so an
// email sent twice (a retry after a crash) is one file.
type Capture struct {
	dir string
}

var _ Transport = (*Capture)(nil)

// NewCapture returns a capture transport writing into dir (created when
// missing).
func NewCapture(dir string) (*Capture, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("capture folder: %w", err)
	}
	return &Capture{dir: dir}, nil
}

// Dir is the folder the emails go to.
func (c *Capture) Dir() string { return c.dir }

// Send writes the email atomically: a temporary file, synced, then renamed
// into place. The envelope is recorded in a Return-Path and a Delivered-To
// header in front of the message, as a final delivery agent would.
func (c *Capture) Send(ctx context.Context, e *Email) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := captureName(e.Msg.GetMessageID())
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("capture %s: %w", name, err)
	}
	if _, err := fmt.Fprintf(f, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", e.From, e.To); err != nil {
		return fail(err)
	}
	if _, err := e.WriteTo(f); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("capture %s: %w", name, err)
	}
	return nil
}

// Close does nothing: every Send has finished its file.
func (c *Capture) Close() error { return nil }

// captureName makes a file name of a Message-ID: letters, digits and
// ".@+-_" are kept, anything else becomes "_". Without a Message-ID the
// name is random.
func captureName(msgID string) string {
	id := strings.Trim(strings.TrimSpace(msgID), "<>")
	if id == "" {
		b := make([]byte, 12)
		rand.Read(b)
		return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b) + ".eml"
	}
	var sb strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".@+-_", r):
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	return sb.String() + ".eml"
}

// Captured is one email found in a capture folder.
type Captured struct {
	Path      string
	MessageID string // without angle brackets
	From      string // the envelope sender (Return-Path)
	To        string // the envelope recipient (Delivered-To)
	Subject   string
	Date      time.Time
	Size      int64
	ModTime   time.Time // when it was captured
}

// ListCaptured reads the headers of the emails captured in dir, oldest
// first. A missing folder holds no email.
func ListCaptured(dir string) ([]Captured, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list captured emails: %w", err)
	}
	var out []Captured
	for _, ent := range ents {
		if ent.IsDir() || !strings.HasSuffix(ent.Name(), ".eml") || strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		c, err := readCaptured(filepath.Join(dir, ent.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Captured) int { return a.ModTime.Compare(b.ModTime) })
	return out, nil
}

func readCaptured(path string) (Captured, error) {
	f, err := os.Open(path)
	if err != nil {
		return Captured{}, fmt.Errorf("read captured email: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Captured{}, fmt.Errorf("read captured email: %w", err)
	}
	m, err := mail.ReadMessage(io.LimitReader(f, 1<<20))
	if err != nil {
		return Captured{}, fmt.Errorf("read captured email %s: %w", path, err)
	}
	h := m.Header
	c := Captured{Path: path, Size: st.Size(), ModTime: st.ModTime(),
		MessageID: strings.Trim(h.Get("Message-Id"), "<> "),
		From:      strings.Trim(h.Get("Return-Path"), "<> "),
		To:        strings.TrimSpace(h.Get("Delivered-To")),
	}
	c.Subject, err = new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		c.Subject = h.Get("Subject")
	}
	c.Date, _ = h.Date()
	return c, nil
}
