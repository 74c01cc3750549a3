package imapd

import (
	"bufio"
	"bytes"
	"context"
	"io"

	"github.com/emersion/go-message/textproto"

	"github.com/partnermail/partnermail/smtpd/authcheck"
	"github.com/partnermail/partnermail/storage"
)

// readBatch is how many blobs readSmall is given at a time: small blobs
// go up to 64 KB in SQLite and 256 KB in PostgreSQL, so a batch holds at
// most 16 MB (a whole 1,000-message chunk could hold 256 MB).
const readBatch = 64

// readSmall reads the blobs of keys in batched queries when the blob
// store can (small blobs live in the database): the first FETCH 1:*
// (ENVELOPE) of a folder parses every message, and mbsync fetches one
// body per command; one query (a round trip to PostgreSQL) per message
// made both several times slower. Blobs it leaves out are opened one by
// one.
func (s *Server) readSmall(ctx context.Context, keys []string) (map[string][]byte, error) {
	sr, ok := s.cfg.Store.Blobs().(smallReader)
	if !ok || len(keys) < 2 {
		return nil, nil
	}
	return sr.ReadSmall(ctx, keys)
}

// inBatches hands each item to fn with its blob's bytes, read readBatch
// blobs at a time (nil when readSmall left the blob out: fn opens it, see
// openBlob). key names an item's blob.
func inBatches[T any](ctx context.Context, s *Server, items []T, key func(T) string, fn func(T, []byte) error) error {
	for len(items) > 0 {
		batch := items[:min(len(items), readBatch)]
		items = items[len(batch):]
		keys := make([]string, len(batch))
		for i, it := range batch {
			keys[i] = key(it)
		}
		data, err := s.readSmall(ctx, keys)
		if err != nil {
			return err
		}
		for _, it := range batch {
			if err := fn(it, data[key(it)]); err != nil {
				return err
			}
		}
	}
	return nil
}

// openBlob is the blob of key: data when a batch read held it, else
// opened from the store.
func (s *Server) openBlob(ctx context.Context, key string, data []byte) (storage.Blob, error) {
	if data != nil {
		return byteBlob{bytes.NewReader(data), data}, nil
	}
	return s.cfg.Store.Blobs().Open(ctx, key)
}

// blankLine reports whether line is the empty line ending a header.
func blankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// blobLight reads the header of a message.
func blobLight(b storage.Blob, strip bool, authservID string) (*light, error) {
	if bb, ok := b.(byteBlob); ok {
		return bytesLight(bb.data, strip, authservID)
	}
	return computeLight(io.NewSectionReader(b, 0, b.Size()), strip, authservID)
}

// bytesLight is computeLight of a message in memory, without its
// buffered reader (32 KB a message) and header copy.
func bytesLight(data []byte, strip bool, authservID string) (*light, error) {
	n, complete := 0, false
	for n < len(data) {
		end := len(data)
		if i := bytes.IndexByte(data[n:], '\n'); i >= 0 {
			end = n + i + 1
		}
		line := data[n:end]
		n = end
		if blankLine(line) {
			complete = true
			break
		}
	}
	if n > maxHeaderMem {
		return computeLight(bytes.NewReader(data), strip, authservID)
	}
	// data[:n:n]: appending copies, data stays untouched
	return headerLight(data[:n:n], int64(n), complete, strip, authservID), nil
}

// computeLight reads a message's header.
func computeLight(r io.Reader, strip bool, authservID string) (*light, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var hdr []byte
	var n int64
	big, complete, atStart := false, false, true
	for {
		line, err := br.ReadSlice('\n')
		n += int64(len(line))
		if atStart && blankLine(line) {
			hdr = append(hdr, line...)
			complete = true
			break
		}
		if len(hdr)+len(line) <= maxHeaderMem {
			hdr = append(hdr, line...)
		} else {
			big = true
		}
		atStart = len(line) > 0 && line[len(line)-1] == '\n'
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, err
		}
	}
	return headerLight(hdr, n, complete, strip && !big, authservID), nil
}

// headerLight makes the light record of a header held in memory (hdr,
// headerLen bytes on the wire; complete when it ends with its blank
// line); strip measures the forged Authentication-Results to hide.
func headerLight(hdr []byte, headerLen int64, complete, strip bool, authservID string) *light {
	l := &light{HeaderLen: headerLen}
	if strip && authservID != "" {
		stripped, _ := authcheck.StripForged(hdr, authservID)
		l.Strip = int64(len(hdr) - len(stripped))
	}
	if !complete {
		hdr = append(hdr, "\r\n\r\n"...)
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(hdr)))
	l.Env = extractEnvelope(h)
	return l
}
