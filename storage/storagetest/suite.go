// Package storagetest is the conformance suite every storage.Store
// implementation passes: the same tests, run against embedded SQLite and
// PostgreSQL, define what the storage contract means.
//
// Each area of the contract has its own file with an exported RunXxx
// function (RunAdmin, RunMessages, RunBlobs…); Run calls them all. A new
// area adds its file and one line in Run — no registration, no package
// state.
package storagetest

import (
	"context"
	"testing"

	"github.com/partnermail/partnermail/storage"
)

// Core is the part of storage.Store the admin, message and blob areas
// test; a store whose queue is not finished yet can run them with RunCore.
type Core interface {
	storage.AdminStore
	storage.MessageStore
	Blobs() storage.BlobStore
}

// Opener returns a fresh, empty store for one test; the store is closed
// when the test ends (t.Cleanup).
type Opener func(t *testing.T) Core

// Run runs the whole conformance suite; open returns a fresh, empty store
// per call, closed by the caller's t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	core := func(t *testing.T) Core { return open(t) }
	RunCore(t, core)
	// Areas of the rest of the contract, one line each:
	t.Run("queue", func(t *testing.T) { RunQueue(t, open) })
	// H-imap:     t.Run("imap", func(t *testing.T) { RunIMAP(t, open) })
}

// RunCore runs the admin, message and blob areas.
func RunCore(t *testing.T, open Opener) {
	t.Run("admin", func(t *testing.T) { RunAdmin(t, open) })
	t.Run("isolation", func(t *testing.T) { RunIsolation(t, open) })
	t.Run("messages", func(t *testing.T) { RunMessages(t, open) })
	t.Run("blobs", func(t *testing.T) { RunBlobs(t, open) })
	t.Run("audience", func(t *testing.T) { RunAudience(t, open) })
}

// campaigner is the QueueStore method the campaign-thread tests need;
// they skip on a store that does not have it yet.
type campaigner interface {
	CreateCampaign(ctx context.Context, c storage.Campaign, emails []storage.OutboundEmail) (storage.Campaign, error)
}
