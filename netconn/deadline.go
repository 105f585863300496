package netconn

import (
	"sync"
	"time"
)

// deadline is one direction's I/O deadline, shaped like net.Pipe's: a
// channel that is closed while the deadline has passed. Waiters select on
// wait(); setting a new deadline wakes them because it either closes the
// channel (past time) or they re-read wait() after the old one fired.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed once the deadline has passed
}

func newDeadline() *deadline {
	return &deadline{cancel: make(chan struct{})}
}

// set arms the deadline: zero means none, a past time fires now, a future
// time fires from a timer.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.timer != nil && !d.timer.Stop() {
		// The callback is running or ran: wait until it has closed
		// cancel so that the state below is settled.
		<-d.cancel
	}
	d.timer = nil

	fired := isClosed(d.cancel)
	if t.IsZero() {
		if fired {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if fired {
			d.cancel = make(chan struct{})
		}
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !fired {
		close(d.cancel)
	}
}

// wait returns a channel that is closed when the deadline passes. Callers
// fetch it again after each wake-up: set may have replaced it.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

// expired reports whether the deadline has passed.
func (d *deadline) expired() bool {
	return isClosed(d.wait())
}

// stop releases the timer; used on Close.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	// A timer that already fired stays recorded so that a later set waits
	// for its callback, exactly as before stop.
	if d.timer != nil && d.timer.Stop() {
		d.timer = nil
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// awaitEvent blocks until something may have changed for a blocked call:
// its readiness channel, its deadline, Close of the endpoint, or Close of
// the driver. The caller then retries the call and finds out which. It
// polls before it parks (spinAwait): the waits for data to read or a
// connection to accept use it, whose event often follows within µs.
func awaitEvent(ready <-chan struct{}, dl *deadline, closed <-chan struct{}, d *Driver) {
	if spinAwait(ready, dl.wait(), closed, d) {
		return
	}
	parkEvent(ready, dl, closed, d)
}

// parkEvent is awaitEvent without the poll, for the waits of writers (for
// room in the send buffer, or for ARP): a sender that outruns its peer
// waits for ACKs, and polling for them took CPU from the goroutines
// processing them (bench bulk mtu65520, medians of 6 runs: 24.1 Gbit/s
// polling, 25.6 parking at once); rr never waits to write.
func parkEvent(ready <-chan struct{}, dl *deadline, closed <-chan struct{}, d *Driver) {
	select {
	case <-ready:
	case <-dl.wait():
	case <-closed:
	case <-d.Done():
	}
}
