package link

import (
	"runtime"
	"time"
)

// A Pipe reader that finds its queue empty polls it for a short while
// before it parks on the condition variable (busy polling, as Linux's
// SO_BUSY_POLL). Parking costs more than it seems: the writer's Signal
// then makes the Go scheduler wake an idle OS thread (a futex wake, and
// inside a VM an inter-processor interrupt), which bench rr measured at
// tens of µs in its slowest percentile. A reader that polls sees the frame
// without being woken. With netconn's own polling, bench rr p99 went from
// 47 to 10 µs (medians of 5); this half alone gave 11 µs.
const (
	// spinTime bounds a poll by the clock: a link that goes quiet stops
	// costing CPU this long after its last frame.
	spinTime = 20 * time.Microsecond
	// spinIters bounds it by turns as well, so that it ends where the
	// clock does not move (testing/synctest's virtual time).
	spinIters = 1000
)

// spin is the state of one bounded poll; the zero value starts one.
type spin struct {
	iter  int
	start time.Time
	done  bool
}

// again yields the processor, so that the goroutine that will write the
// awaited frame runs (on this P too), and reports whether it did; false
// means the poll is over, now and for every later call.
func (s *spin) again() bool {
	if s.done {
		return false
	}
	if s.iter == 0 {
		s.start = time.Now()
	}
	s.iter++
	if s.iter > spinIters || time.Since(s.start) > spinTime {
		s.done = true
		return false
	}
	runtime.Gosched()
	return true
}

// wait waits for a change of d: a frame or a close. While the poll lasts
// it only yields, with d.mu released, and returns; once it is over, wait
// parks on d.cond. d.mu is held on entry and on return, and the caller
// looks at d again either way: returning after the poll's last turn,
// instead of parking at once, matters, because a frame may have arrived
// (and its Signal gone unheard) while d.mu was released.
func (d *direction) wait(s *spin) {
	if s.done {
		d.cond.Wait()
		return
	}
	d.mu.Unlock()
	s.again()
	d.mu.Lock()
}
