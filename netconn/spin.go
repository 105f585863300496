package netconn

import (
	"runtime"
	"time"
)

// A blocked call polls its readiness channel for a short while before it
// parks in a select (busy polling, as Linux's SO_BUSY_POLL or the Go
// scheduler's own spinning threads). A token sent to a parked goroutine
// makes the scheduler wake an idle OS thread (a futex wake, and inside a
// VM an inter-processor interrupt), which bench rr measured at tens of µs
// in its slowest percentile; a goroutine that polls takes the token
// without being woken. Polling yields (runtime.Gosched) at every turn, so
// the goroutines that will produce the event run first, on this P too.
const (
	// spinTime bounds a poll by the clock: a connection that goes quiet
	// stops costing CPU this long after its last event. bench rr p99
	// (medians of 5): 11.5 µs with 10 µs, 10.3 with 20, 10.2 with 50 and
	// with 100, 47 without polling.
	spinTime = 20 * time.Microsecond
	// spinIters bounds it by turns as well, so that it ends where the
	// clock does not move (testing/synctest's virtual time).
	spinIters = 1000
	// maxSpinners bounds the calls of one driver that poll at once: with
	// many connections waiting (bench conc), their turns would only take
	// the CPU from the ones with work; the others park at once, as before.
	// A request/response exchange needs one per stack.
	maxSpinners = 2
)

// spinAwait polls the channels awaitEvent waits on and reports whether one
// of them fired (taking ready's token if it was that one). False means the
// poll ran out, or enough other calls of d poll already: the caller must
// block.
func spinAwait(ready, dl, closed <-chan struct{}, d *Driver) bool {
	if d.spinners.Add(1) > maxSpinners {
		d.spinners.Add(-1)
		return false
	}
	defer d.spinners.Add(-1)
	done := d.Done()
	start := time.Now()
	for range spinIters {
		select {
		case <-ready:
			return true
		case <-dl:
			return true
		case <-closed:
			return true
		case <-done:
			return true
		default:
		}
		if time.Since(start) > spinTime {
			return false
		}
		runtime.Gosched()
	}
	return false
}
