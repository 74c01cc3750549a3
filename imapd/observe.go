package imapd

import (
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Observer receives what the gateway's metrics count. Any function may
// be nil.
type Observer struct {
	// Command is called after each command that does work (not IDLE):
	// its name as in RFC 9051 ("FETCH", "UID FETCH" is reported as
	// "FETCH"), its duration and whether it failed.
	Command func(name string, d time.Duration, failed bool)
	// Login is called after each LOGIN with "ok", "failed" (wrong
	// password or unknown login), "limited" (refused by the limiter) or
	// "error".
	Login func(result string)
	// Warmed is called with the number of messages whose ENVELOPE the
	// cache warmer has just stored; WarmedUp once, when its first pass
	// (every message stored before the start) is done.
	Warmed   func(n int)
	WarmedUp func()
}

// observed wraps a session to time its commands. Embedding *session keeps
// every method (and so every optional imapserver interface) of it.
type observed struct {
	*session
	obs Observer
}

func (o *observed) done(name string, start time.Time, err error) error {
	if o.obs.Command != nil {
		o.obs.Command(name, time.Since(start), err != nil)
	}
	return err
}

func (o *observed) Login(username, password string) error {
	start := time.Now()
	err := o.session.Login(username, password)
	if o.obs.Login != nil {
		var ie *imap.Error
		switch {
		case err == nil:
			o.obs.Login("ok")
		case errors.Is(err, imapserver.ErrAuthFailed):
			o.obs.Login("failed")
		case errors.As(err, &ie) && ie.Code == imap.ResponseCodeUnavailable:
			o.obs.Login("limited")
		default:
			o.obs.Login("error")
		}
	}
	return o.done("LOGIN", start, err)
}

func (o *observed) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	start := time.Now()
	d, err := o.session.Select(name, options)
	cmd := "SELECT"
	if options != nil && options.ReadOnly {
		cmd = "EXAMINE"
	}
	return d, o.done(cmd, start, err)
}

func (o *observed) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, opts *imap.FetchOptions) error {
	start := time.Now()
	return o.done("FETCH", start, o.session.Fetch(w, numSet, opts))
}

func (o *observed) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, opts *imap.StoreOptions) error {
	start := time.Now()
	return o.done("STORE", start, o.session.Store(w, numSet, flags, opts))
}

func (o *observed) Search(kind imapserver.NumKind, c *imap.SearchCriteria, opts *imap.SearchOptions) (*imap.SearchData, error) {
	start := time.Now()
	d, err := o.session.Search(kind, c, opts)
	return d, o.done("SEARCH", start, err)
}

func (o *observed) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	start := time.Now()
	return o.done("LIST", start, o.session.List(w, ref, patterns, options))
}

func (o *observed) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	start := time.Now()
	d, err := o.session.Status(name, options)
	return d, o.done("STATUS", start, err)
}

func (o *observed) Append(mailbox string, r imap.LiteralReader, opts *imap.AppendOptions) (*imap.AppendData, error) {
	start := time.Now()
	d, err := o.session.Append(mailbox, r, opts)
	return d, o.done("APPEND", start, err)
}

func (o *observed) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	start := time.Now()
	d, err := o.session.Copy(numSet, dest)
	return d, o.done("COPY", start, err)
}

func (o *observed) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	start := time.Now()
	return o.done("MOVE", start, o.session.Move(w, numSet, dest))
}

func (o *observed) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	start := time.Now()
	return o.done("EXPUNGE", start, o.session.Expunge(w, uids))
}
