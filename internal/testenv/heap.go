package testenv

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// HeapSampler records the largest HeapInuse seen while it runs, for the
// memory tests (Test…Memory) that check a heap does not grow with a
// message.
type HeapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// SampleHeap starts sampling every 20 ms until Done.
func SampleHeap() *HeapSampler {
	s := &HeapSampler{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > s.peak.Load() {
				s.peak.Store(ms.HeapInuse)
			}
			select {
			case <-s.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return s
}

// Done stops sampling and returns the peak HeapInuse in bytes.
func (s *HeapSampler) Done() uint64 { close(s.stop); s.wg.Wait(); return s.peak.Load() }
