package imapd

import (
	"fmt"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/partnermail/partnermail/storage/sqlstore"
)

// lazyRowsForTest is sqlstore's lazySyncRows: the changed rows a sync
// re-reads rather than move a watermark.
const lazyRowsForTest = 256

// TestSyncLargeBatch: a STORE of more rows than a sync re-reads lazily
// moves the watermark of folders it moves nothing in or out of (INBOX),
// and membership follows in the folders it does (Unread), before and
// after new deliveries.
func TestSyncLargeBatch(t *testing.T) {
	sqlstore.EachDriver(t, func(t *testing.T, driver string) {
		e := newTestServer(t, driver)
		f := e.f
		n := lazyRowsForTest + 20
		var wg sync.WaitGroup
		ch := make(chan int)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range ch {
					id := fmt.Sprintf("b%d@x", i)
					e.deliverRaw(f, f.Acme, f.Ann, id, rawMessage(f.Ann.Email, "s", id, "body"), "in")
				}
			}()
		}
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(ch)
		wg.Wait()
		a := e.login(f.Admin.Email, nil)
		count := func(box string) uint32 {
			t.Helper()
			return selectBox(t, a, box).NumMessages
		}
		if got := count("Unread"); got != uint32(n) {
			t.Fatalf("Unread holds %d, want %d", got, n)
		}
		store := func(op imap.StoreFlagsOp) {
			t.Helper()
			selectBox(t, a, "INBOX")
			err := a.Store(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close()
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Noop().Wait(); err != nil {
				t.Fatal(err)
			}
		}
		store(imap.StoreFlagsAdd)
		if got := count("Unread"); got != 0 {
			t.Fatalf("Unread after reading all holds %d, want 0", got)
		}
		e.deliver(f, f.Acme, f.Ann, "New", "body")
		if got := count("INBOX"); got != uint32(n+1) {
			t.Fatalf("INBOX after a delivery holds %d, want %d", got, n+1)
		}
		if got := count("Unread"); got != 1 {
			t.Fatalf("Unread after a delivery holds %d, want 1", got)
		}
		store(imap.StoreFlagsDel)
		if got := count("Unread"); got != uint32(n+1) {
			t.Fatalf("Unread after unreading all holds %d, want %d", got, n+1)
		}
		if got := count("INBOX"); got != uint32(n+1) {
			t.Fatalf("INBOX holds %d, want %d", got, n+1)
		}
	})
}
