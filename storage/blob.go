package storage

import (
	"context"
	"io"
)

// BlobStore keeps raw messages and attachments. Blobs are streamed in and
// out and never held whole in memory. A blob is immutable once committed;
// rows refer to committed blobs only, so a crash can leave an unreferenced
// blob (collected later) but never a row pointing at a missing or partial
// one.
type BlobStore interface {
	// Create starts a new blob. Write to it, then Commit (durable on
	// return) or Abort.
	Create(ctx context.Context) (BlobWriter, error)
	// Open opens a committed blob for reading.
	Open(ctx context.Context, key string) (Blob, error)
	// Delete removes a blob no row refers to any more.
	Delete(ctx context.Context, key string) error
}

// BlobWriter receives a blob's bytes.
type BlobWriter interface {
	io.Writer
	// Commit makes the blob durable and returns its key.
	Commit(ctx context.Context) (key string, err error)
	// Abort discards the blob; it is safe after Commit (it does nothing).
	Abort() error
}

// Blob is a committed blob open for reading, with random access so that
// IMAP partial fetches need not read from the start.
type Blob interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
}
