package notify

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// With SQLite one serve process owns the data folder, but admin commands
// (message send, campaign send) run as other processes and must wake its
// outbound worker. They append "topic company" lines to an events file in
// the data folder; serve watches the file and wakes its Local hub.

// maxEventsFile is the size past which a publisher starts the file over.
const maxEventsFile = 1 << 20

// FilePublisher is the Hub of a short-lived command on SQLite: Publish
// appends to the events file; Subscribe is local to the command.
type FilePublisher struct {
	Path  string
	local *Local
}

var _ Hub = (*FilePublisher)(nil)

// NewFilePublisher publishes to the events file at path.
func NewFilePublisher(path string) *FilePublisher {
	return &FilePublisher{Path: path, local: NewLocal()}
}

// Publish wakes local subscribers and appends the event for serve.
func (p *FilePublisher) Publish(_ context.Context, topic Topic, companyID int64) error {
	p.local.Wake(topic, companyID)
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
		return fmt.Errorf("notify %s: %w", topic, err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if st, err := os.Stat(p.Path); err == nil && st.Size() > maxEventsFile {
		flags |= os.O_TRUNC // watchers see the file shrink and wake everyone
	}
	f, err := os.OpenFile(p.Path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("notify %s: %w", topic, err)
	}
	_, err = fmt.Fprintf(f, "%s %d\n", topic, companyID) // one small O_APPEND write: never interleaved
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("notify %s: %w", topic, err)
	}
	return nil
}

// Subscribe registers a channel woken by this process's own events.
func (p *FilePublisher) Subscribe(topic Topic, companyID int64) (<-chan struct{}, func()) {
	return p.local.Subscribe(topic, companyID)
}

// FileWatcher delivers the events other processes append to the events
// file to a Local hub.
type FileWatcher struct {
	Path  string
	Local *Local
	Poll  time.Duration // default 100ms
}

// Run polls the file until ctx ends. Events written before it started are
// skipped; when the file shrinks (started over) everyone is woken.
func (w *FileWatcher) Run(ctx context.Context) error {
	poll := w.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	var off int64
	if st, err := os.Stat(w.Path); err == nil {
		off = st.Size()
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, err := os.Stat(w.Path)
		if err != nil {
			continue // not written yet
		}
		switch size := st.Size(); {
		case size < off:
			off = 0
			w.Local.WakeAll()
			fallthrough
		case size > off:
			off = w.read(off)
		}
	}
}

// read delivers the complete lines after off and returns the new offset.
func (w *FileWatcher) read(off int64) int64 {
	f, err := os.Open(w.Path)
	if err != nil {
		return off
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off
	}
	r := bufio.NewReader(io.LimitReader(f, maxEventsFile*2))
	for {
		line, err := r.ReadBytes('\n')
		if err != nil { // a partial last line is read again next time
			return off
		}
		off += int64(len(line))
		topic, id, ok := bytes.Cut(bytes.TrimSpace(line), []byte(" "))
		if !ok {
			continue
		}
		if company, err := strconv.ParseInt(string(id), 10, 64); err == nil {
			w.Local.Wake(Topic(topic), company)
		}
	}
}
