package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// rssBytes reads the resident set size from /proc/self/statm (0 when
// unavailable). VmHWM would be process-wide and never go down, so each run
// samples RSS itself and reports its own peak above its own baseline.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// settle returns freed memory to the OS so a run starts from a low RSS.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// rssSampler records the peak RSS above the baseline at its start.
type rssSampler struct {
	base int64
	mu   sync.Mutex
	peak int64
	stop chan struct{}
	done chan struct{}
}

func startRSS() *rssSampler {
	settle()
	s := &rssSampler{base: rssBytes(), stop: make(chan struct{}), done: make(chan struct{})}
	s.peak = s.base
	go func() {
		defer close(s.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	r := rssBytes()
	s.mu.Lock()
	s.peak = max(s.peak, r)
	s.mu.Unlock()
}

// Stop ends sampling and returns the peak growth in bytes.
func (s *rssSampler) Stop() int64 {
	s.sample()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak - s.base
}
