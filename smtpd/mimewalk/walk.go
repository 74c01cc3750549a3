package mimewalk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/partnermail/partnermail/storage"
)

// Blobs is the part of storage.BlobStore the walker needs.
type Blobs interface {
	Create(ctx context.Context) (storage.BlobWriter, error)
	Delete(ctx context.Context, key string) error
}

var _ Blobs = storage.BlobStore(nil)

// Config configures a Walker. Zero values mean the defaults.
type Config struct {
	Blobs  Blobs  // required
	Policy Policy // zero: DefaultPolicy()
	// MaxTextBytes caps each kept body (Text, HTML, DeliveryStatus);
	// default 1 MiB. Longer bodies are cut and TextTruncated is set.
	MaxTextBytes int
	// MaxHeaderBytes caps one header block (the message's or a part's);
	// default 1 MiB. A larger one is a *FormatError.
	MaxHeaderBytes int
	MaxDepth       int // multipart nesting; default 20
	MaxParts       int // MIME parts per message; default 5000
	Logger         *slog.Logger
}

// Walker walks messages. It is safe for concurrent use; each Walk is
// independent.
type Walker struct {
	cfg Config
}

// New returns a Walker for cfg.
func New(cfg Config) (*Walker, error) {
	if cfg.Blobs == nil {
		return nil, errors.New("mimewalk: Config.Blobs is required")
	}
	if cfg.Policy.MaxAttachments == 0 && cfg.Policy.Classes == nil {
		cfg.Policy = DefaultPolicy()
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = 1 << 20
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 1 << 20
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 20
	}
	if cfg.MaxParts <= 0 {
		cfg.MaxParts = 5000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Walker{cfg: cfg}, nil
}

// Result is what one walk produced. On success every key refers to a
// committed blob; the caller owns them and must Discard the Result if it
// does not store rows referring to them.
type Result struct {
	RawKey     string // blob of the message, byte-exact
	RawSize    int64
	HeaderSize int64 // octets of the top-level header including the blank line; the body starts here
	Header     mail.Header
	// Text is the text/plain body in UTF-8 (inline text/plain parts
	// outside one multipart/alternative are joined). HTML is the first
	// text/html body in UTF-8, for callers to convert when Text is empty.
	Text, HTML string
	// TextTruncated reports that a body was longer than MaxTextBytes.
	TextTruncated bool
	// DeliveryStatus is the message/delivery-status part of a
	// multipart/report (a DSN), for the bounce parser.
	DeliveryStatus string
	Attachments    []storage.Attachment // decoded, sniffed; BlobKey set
	// Defects lists what was wrong but tolerated (truncated MIME, unknown
	// charsets, malformed base64), for the log.
	Defects []string
}

// Walk reads the message from r once and returns its Result.
//
// Walk always reads r to its end, even after a policy violation, so the
// SMTP dialogue stays in sync; it stops early only when ctx is done or r
// fails. Errors:
//   - *PolicyError: an attachment broke the policy (reply 5xx, see
//     SMTPStatus);
//   - *FormatError: the message cannot be walked safely (reply 5xx);
//   - anything else: storage, read or context failure (reply 4xx).
//
// On any error no blob is left behind (all are aborted) and the Result
// still carries what was parsed (Header, Text), for logging.
func (w *Walker) Walk(ctx context.Context, r io.Reader) (*Result, error) {
	raw, err := w.cfg.Blobs.Create(ctx)
	if err != nil {
		return &Result{}, fmt.Errorf("create raw blob: %w", err)
	}
	wk := &walk{w: w, ctx: ctx, res: &Result{}}
	wk.src = &source{r: r, ctx: ctx}
	wk.raw = &sink{w: raw}
	wk.open = append(wk.open, raw)
	err = wk.run()
	if err == nil {
		wk.res.RawKey, err = raw.Commit(ctx)
		if err != nil {
			err = fmt.Errorf("commit raw blob: %w", err)
		}
	}
	if err != nil {
		wk.undo()
		wk.res.RawKey, wk.res.Attachments = "", nil
		return wk.res, err
	}
	return wk.res, nil
}

// Discard deletes the blobs of a successful Result, for a caller that could
// not store the rows referring to them (a failed database commit, a
// rejection decided after the walk).
func (w *Walker) Discard(ctx context.Context, res *Result) error {
	var errs []error
	for _, a := range res.Attachments {
		if a.BlobKey != "" {
			errs = append(errs, w.cfg.Blobs.Delete(ctx, a.BlobKey))
		}
	}
	if res.RawKey != "" {
		errs = append(errs, w.cfg.Blobs.Delete(ctx, res.RawKey))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("discard blobs: %w", err)
	}
	return nil
}

// walk is the state of one Walk.
type walk struct {
	w   *Walker
	ctx context.Context
	res *Result
	src *source
	raw *sink
	// open are blobs being written (the raw one, the current attachment);
	// done are attachment blobs already committed. On failure the first
	// are aborted and the second deleted.
	open  []storage.BlobWriter
	done  []string
	nAtt  int
	parts int
	text  capture
	html  capture
	dsn   capture
}

func (wk *walk) run() error {
	tee := io.TeeReader(wk.src, wk.raw)
	g := &guard{r: tee, budget: -1}
	br := bufio.NewReaderSize(g, 32<<10)
	g.limit(wk.w.cfg.MaxHeaderBytes)
	h, herr := textproto.ReadHeader(br)
	g.unlimit()
	wk.res.HeaderSize = g.n - int64(br.Buffered())
	wk.res.Header = mail.Header{Header: message.Header{Header: h}}
	var err error
	switch {
	case g.over:
		err = formatErr("the message header is larger than the limit", herr)
	case herr != nil && !wk.src.eof:
		err = formatErr("the message header is malformed", herr)
	default:
		if herr != nil {
			wk.defect("header cut short by the end of the message")
		}
		err = wk.entity(br, h, 0, "", nil)
	}
	if err != nil {
		wk.raw.off() // stop writing blobs at the first violation
	}
	// Drain: keep reading so the SMTP dialogue stays in sync and the raw
	// copy is complete.
	if _, derr := io.Copy(io.Discard, br); derr != nil && err == nil {
		err = derr
	}
	wk.res.Text = wk.text.String()
	wk.res.HTML = wk.html.String()
	wk.res.DeliveryStatus = wk.dsn.String()
	wk.res.TextTruncated = wk.text.cut || wk.html.cut || wk.dsn.cut
	if wk.src.err != nil { // the client or ctx failed: nothing else matters
		return fmt.Errorf("read message: %w", wk.src.err)
	}
	if err != nil {
		return err
	}
	if wk.raw.err != nil {
		return fmt.Errorf("write raw blob: %w", wk.raw.err)
	}
	wk.res.RawSize = wk.src.n
	return nil
}

// undo aborts the open blobs and deletes the committed ones.
func (wk *walk) undo() {
	for _, bw := range wk.open {
		if err := bw.Abort(); err != nil {
			wk.w.cfg.Logger.Warn("abort blob", "err", err)
		}
	}
	// Deleting must not depend on a ctx that may be the reason we stop.
	ctx := context.WithoutCancel(wk.ctx)
	for _, key := range wk.done {
		if err := wk.w.cfg.Blobs.Delete(ctx, key); err != nil {
			wk.w.cfg.Logger.Warn("delete blob of a failed walk", "key", key, "err", err)
		}
	}
}

const maxDefects = 32

func (wk *walk) defect(format string, args ...any) {
	if len(wk.res.Defects) < maxDefects {
		wk.res.Defects = append(wk.res.Defects, fmt.Sprintf(format, args...))
	}
}

// source reads the message, counts it, notes EOF and checks ctx.
type source struct {
	r   io.Reader
	ctx context.Context
	n   int64
	eof bool
	err error // a failure of r or ctx (not EOF)
}

func (s *source) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		s.err = err
	}
	return n, err
}

// sink copies the raw message into its blob. It never fails the parse: a
// write error is kept for the end, and off stops writing.
type sink struct {
	w       io.Writer
	err     error
	stopped bool
}

func (s *sink) Write(p []byte) (int, error) {
	if s.err == nil && !s.stopped {
		_, s.err = s.w.Write(p)
	}
	return len(p), nil
}

func (s *sink) off() { s.stopped = true }

// guard limits how much may be read while a header is parsed, so a header
// that never ends cannot grow memory.
type guard struct {
	r      io.Reader
	n      int64 // bytes read through the guard
	budget int64 // -1: unlimited
	over   bool
}

var errHeaderTooLarge = errors.New("header too large")

func (g *guard) limit(n int) { g.budget, g.over = int64(n)+64<<10, false }
func (g *guard) unlimit()    { g.budget = -1 }

func (g *guard) Read(p []byte) (int, error) {
	if g.budget == 0 {
		g.over = true
		return 0, errHeaderTooLarge
	}
	if g.budget > 0 && int64(len(p)) > g.budget {
		p = p[:g.budget]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.budget > 0 {
		g.budget -= int64(n)
	}
	return n, err
}
