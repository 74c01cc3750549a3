package testenv

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// HeapSampler records the largest live heap seen while it runs, for the
// memory tests (Test…Memory) that check a heap does not grow with a
// message.
type HeapSampler struct {
	peak atomic.Uint64
	low  atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// SampleHeap starts sampling every 20 ms until Done. Each sample runs a
// collection first and reads HeapInuse after it, so what is measured is
// the memory the code holds, not garbage the collector has not reached
// yet: on a loaded machine (CI runs the packages in parallel) the
// collector lags and an uncollected heap overshot a 16 MiB bound that the
// live heap was far below.
func SampleHeap() *HeapSampler {
	s := &HeapSampler{stop: make(chan struct{})}
	s.low.Store(^uint64(0))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var ms runtime.MemStats
		for {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			s.peak.Store(max(s.peak.Load(), ms.HeapInuse))
			s.low.Store(min(s.low.Load(), ms.HeapInuse))
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

// Growth is how far the heap rose above its lowest point: the baseline
// is the lower of base (read before the work) and the smallest sample,
// since setup garbage that dies during the work would otherwise hide
// growth behind a high starting figure. Call it after Done.
func (s *HeapSampler) Growth(base uint64) int64 {
	return int64(s.peak.Load()) - int64(min(base, s.low.Load()))
}
