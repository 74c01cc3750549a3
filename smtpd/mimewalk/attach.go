package mimewalk

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/partnermail/partnermail/storage"
)

// attachment sniffs one decoded attachment and stores it, or unpacks it
// when it is a TNEF container.
func (wk *walk) attachment(r io.Reader, name string) error {
	head, err := readHead(r)
	if err != nil {
		return wk.readErr(name, err)
	}
	typ := Sniff(head)
	if typ == tnefType {
		return wk.tnef(name, io.MultiReader(bytes.NewReader(head), r))
	}
	_, err = wk.store(name, head, r, typ)
	return err
}

func readHead(r io.Reader) ([]byte, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return head[:n], err
}

// readErr classifies an error met while reading an attachment's data.
func (wk *walk) readErr(name string, err error) error {
	switch {
	case wk.src.err != nil:
		return wk.src.err
	case errors.Is(err, errHeaderTooLarge):
		return formatErr("a MIME part header is larger than the limit", err)
	}
	return formatErr(fmt.Sprintf("attachment %q cannot be decoded", name), err)
}

// refuse counts an attachment that is refused by its declared type alone.
// Headers are trusted only to refuse, never to accept.
func (wk *walk) refuse(name, typ string) error {
	p := wk.w.cfg.Policy
	wk.nAtt++
	if name == "" {
		name = fmt.Sprintf("attachment-%d", wk.nAtt)
	}
	if wk.nAtt > p.MaxAttachments {
		return p.errCount(name)
	}
	return p.errType(name, typ)
}

// store checks one file against the policy and writes it to a new blob.
// It returns a function that renames the stored attachment.
func (wk *walk) store(name string, head []byte, r io.Reader, typ string) (func(string), error) {
	p := wk.w.cfg.Policy
	wk.nAtt++
	if name == "" {
		name = fmt.Sprintf("attachment-%d", wk.nAtt)
	}
	if wk.nAtt > p.MaxAttachments {
		return nil, p.errCount(name)
	}
	class, ok := p.Classify(typ)
	if !ok {
		return nil, p.errType(name, typ)
	}
	limit := class.MaxSize
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	if int64(len(head)) > limit {
		return nil, p.errSize(name, typ, int64(len(head)), limit)
	}
	bw, err := wk.w.cfg.Blobs.Create(wk.ctx)
	if err != nil {
		return nil, fmt.Errorf("create attachment blob: %w", err)
	}
	idx := len(wk.res.Attachments)
	wk.res.Attachments = append(wk.res.Attachments, storage.Attachment{Filename: name, ContentType: typ})
	wk.open = append(wk.open, bw)
	ew := &errWriter{w: bw}
	ew.Write(head)
	rest := limit - int64(len(head))
	if rest < 1<<62 {
		rest++ // one byte more than allowed tells us the limit was crossed
	}
	n, err := io.CopyBuffer(ew, io.LimitReader(r, rest), make([]byte, 32<<10))
	size := int64(len(head)) + n
	switch {
	case ew.err != nil:
		return nil, fmt.Errorf("write attachment blob: %w", ew.err)
	case err != nil && errors.Is(err, io.ErrUnexpectedEOF) && wk.src.eof && wk.src.err == nil:
		wk.defect("attachment %q cut short by the end of the message", name)
	case err != nil:
		return nil, wk.readErr(name, err)
	}
	if size > limit {
		return nil, p.errSize(name, typ, size, limit)
	}
	// Commit now, so at most two blobs (raw and this one) are open at a
	// time; a later failure deletes it again.
	key, err := bw.Commit(wk.ctx)
	if err != nil {
		return nil, fmt.Errorf("commit attachment blob: %w", err)
	}
	wk.open = wk.open[:len(wk.open)-1]
	wk.done = append(wk.done, key)
	wk.res.Attachments[idx].Size = size
	wk.res.Attachments[idx].BlobKey = key
	return func(long string) {
		if long = cleanName(long); long != "" {
			wk.res.Attachments[idx].Filename = long
		}
	}, nil
}

// tnef unpacks a winmail.dat and stores each file inside it as an
// attachment; the container itself is kept only in the raw message.
func (wk *walk) tnef(name string, r io.Reader) error {
	if name == "" {
		name = "winmail.dat"
	}
	err := decodeTNEF(r, func(fname string, data io.Reader) (func(string), error) {
		head, err := readHead(data)
		if err != nil {
			return nil, wk.readErr(fname, err)
		}
		rename, err := wk.store(cleanName(fname), head, data, Sniff(head))
		var pe *PolicyError
		if errors.As(err, &pe) {
			pe.Container = name
		}
		return rename, err
	})
	if errors.Is(err, errTNEF) {
		if wk.src.err != nil {
			return wk.src.err
		}
		return formatErr(fmt.Sprintf("attachment %q is a damaged Outlook (TNEF) container", name), err)
	}
	return err
}

// errWriter keeps the first write error and swallows later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
	if e.err != nil {
		return 0, e.err
	}
	return len(p), nil
}
