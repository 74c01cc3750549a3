package sqlstore

import (
	"testing"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/storagetest"
)

// TestConformance runs the shared storage suite on SQLite and PostgreSQL.
// Until *Store has every QueueStore method it runs the core areas only.
func TestConformance(t *testing.T) {
	EachDriver(t, func(t *testing.T, driver string) {
		if _, full := any((*Store)(nil)).(storage.Store); full {
			storagetest.Run(t, func(t *testing.T) storage.Store { return any(OpenTest(t, driver)).(storage.Store) })
			return
		}
		storagetest.RunCore(t, func(t *testing.T) storagetest.Core { return OpenTest(t, driver) })
	})
}
