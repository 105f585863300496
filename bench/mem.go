package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
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
	// at is the runtime's own account of memory when peak was sampled
	// (-v prints it): what the RSS is made of.
	at   []metrics.Sample
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
	defer s.mu.Unlock()
	if r > s.peak {
		s.peak = r
		if verbose {
			s.at = readMemClasses()
		}
	}
}

// memClasses are the runtime/metrics that split the Go runtime's mapped
// memory: live and dead heap objects, heap pages free or released,
// goroutine stacks, and the total (close to RSS when nothing is released).
var memClasses = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/total:bytes",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/sched/goroutines:goroutines",
}

func readMemClasses() []metrics.Sample {
	m := make([]metrics.Sample, len(memClasses))
	for i, name := range memClasses {
		m[i].Name = name
	}
	metrics.Read(m)
	return m
}

// String prints the memory classes at the peak, in MiB.
func (s *rssSampler) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "peak RSS +%.1f MiB;", float64(s.peak-s.base)/(1<<20))
	for _, m := range s.at {
		name := strings.TrimPrefix(strings.TrimPrefix(m.Name, "/memory/classes/"), "/")
		name = name[:strings.IndexByte(name, ':')]
		if m.Value.Kind() != metrics.KindUint64 {
			continue
		}
		v := m.Value.Uint64()
		if strings.HasSuffix(m.Name, ":bytes") {
			fmt.Fprintf(&b, " %s=%.1f", name, float64(v)/(1<<20))
		} else {
			fmt.Fprintf(&b, " %s=%d", name, v)
		}
	}
	return b.String()
}

// memProfile is the -memprofile file: the conc scenario writes a heap
// profile there when its transfers end (alloc_space shows the churn of
// the whole run, inuse_space what the last collection found live).
var memProfile string

func writeMemProfile() error {
	if memProfile == "" {
		return nil
	}
	f, err := os.Create(memProfile)
	if err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	defer f.Close()
	runtime.GC() // the profile shows what the last collection saw
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	return nil
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
