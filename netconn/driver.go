package netconn

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microtcp/microtcp/core/stack"
)

// readBufferSize bounds one inbound frame: the largest IPv4 packet plus an
// Ethernet header fits, so a well-behaved link never truncates.
const readBufferSize = 64 << 10

// Driver runs one core stack over one link. It is safe for concurrent use.
type Driver struct {
	link io.ReadWriteCloser

	// mu guards st, timer state and closed: the core is not safe for
	// concurrent use, so every call into it holds mu.
	mu       sync.Mutex
	st       *stack.Stack
	timer    *time.Timer
	armed    time.Time // deadline the timer is set for; zero = stopped
	closed   bool
	closedCh chan struct{}

	// wmu keeps link writes in the order the core queued them: it is taken
	// before mu is released, so a later call cannot overtake.
	wmu sync.Mutex

	closeOnce  sync.Once
	closeErr   error
	readerDone chan struct{}

	writeErrors    atomic.Uint64
	oversizeFrames atomic.Uint64
	readErr        atomic.Pointer[error]
}

// NewDriver starts serving st over link: it flushes the frames st already
// queued (the gratuitous ARP), arms the protocol timer and starts the reader
// goroutine. The driver owns both from now on; Close releases them.
func NewDriver(link io.ReadWriteCloser, st *stack.Stack) *Driver {
	d := &Driver{
		link:       link,
		st:         st,
		closedCh:   make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	d.timer = time.AfterFunc(time.Hour, d.poll)
	d.timer.Stop()
	// Nothing can fail here: the driver is fresh and not closed.
	_ = d.Do(func(*stack.Stack, time.Time) error { return nil })
	go d.readLoop()
	return d
}

// Do runs fn with the stack and the current time under the driver lock, then
// sends whatever frames fn made the stack queue and re-arms the protocol
// timer. It returns net.ErrClosed once the driver is closed, else fn's error.
// fn must not block and must not call Do.
func (d *Driver) Do(fn func(st *stack.Stack, now time.Time) error) error {
	st, now, err := d.lock()
	if err != nil {
		return err
	}
	err = fn(st, now)
	d.unlock()
	return err
}

// View runs fn under the driver lock even after Close, for read-only access
// such as Stats. It sends nothing and does not touch the timer.
func (d *Driver) View(fn func(st *stack.Stack)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d.st)
}

// lock is the first half of Do without a closure, for the hot paths of this
// package. A nil error means the caller holds mu and must call unlock.
func (d *Driver) lock() (*stack.Stack, time.Time, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, time.Time{}, net.ErrClosed
	}
	return d.st, time.Now(), nil
}

// unlock takes the queued frames, re-arms the timer, and writes the frames
// after releasing mu (holding wmu across the release keeps their order).
func (d *Driver) unlock() {
	// Most calls queue a frame or two: a small array on the stack holds
	// them without allocating (BenchmarkPacketConnWriteRead).
	var small [4][]byte
	frames := d.st.TakeFrames(small[:0])
	d.armLocked()
	if len(frames) == 0 {
		d.mu.Unlock()
		return
	}
	d.wmu.Lock()
	d.mu.Unlock()
	for _, f := range frames {
		if _, err := d.link.Write(f); err != nil {
			// A lossy link is normal for IP; the protocols above recover.
			d.writeErrors.Add(1)
		}
	}
	d.wmu.Unlock()
}

// armLocked points the one protocol timer at the core's next deadline.
func (d *Driver) armLocked() {
	next := d.st.NextDeadline()
	if next.Equal(d.armed) {
		return
	}
	d.armed = next
	if next.IsZero() {
		d.timer.Stop()
		return
	}
	// A deadline in the past gives a zero or negative duration: the timer
	// fires at once, which is what an overdue deadline needs.
	d.timer.Reset(time.Until(next))
}

// poll is the timer callback. A spurious call (the timer raced a re-arm) is
// harmless: Poll runs only what is due.
func (d *Driver) poll() {
	st, now, err := d.lock()
	if err != nil {
		return
	}
	d.armed = time.Time{} // the timer has fired; force the re-arm
	st.Poll(now)
	d.unlock()
}

func (d *Driver) readLoop() {
	defer close(d.readerDone)
	buf := make([]byte, readBufferSize)
	for {
		n, err := d.link.Read(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			// The frame was consumed but did not fit: no IPv4 packet is
			// that big, so it is dropped like any other bad frame.
			d.oversizeFrames.Add(1)
			continue
		}
		if err != nil {
			if !d.isClosed() {
				stored := err // a fresh variable: &err would move err to the heap on every Read
				d.readErr.Store(&stored)
			}
			return
		}
		st, now, lerr := d.lock()
		if lerr != nil {
			return
		}
		st.Input(now, buf[:n])
		d.unlock()
	}
}

func (d *Driver) isClosed() bool {
	select {
	case <-d.closedCh:
		return true
	default:
		return false
	}
}

// Done is closed when Close starts; blocked calls select on it.
func (d *Driver) Done() <-chan struct{} { return d.closedCh }

// Close stops the timer, closes the stack (every socket's wakers fire, TCP
// connections are reset and the RSTs sent), closes the link (which unblocks the reader) and waits for the reader
// goroutine. It is idempotent and returns the link's Close error.
// Afterwards Do returns net.ErrClosed.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		close(d.closedCh)
		d.timer.Stop()
		d.armed = time.Time{}
		d.st.Close()
		// Close queues a RST for every TCP connection: send them so the
		// peers learn at once instead of after their timeouts.
		frames := d.st.TakeFrames(nil)
		// Taking wmu waits for a writer that is still flushing, so the
		// link is not closed under it (and the RSTs follow its frames).
		d.wmu.Lock()
		d.mu.Unlock()
		for _, f := range frames {
			if _, err := d.link.Write(f); err != nil {
				d.writeErrors.Add(1)
			}
		}
		d.closeErr = d.link.Close()
		d.wmu.Unlock()
		<-d.readerDone
	})
	return d.closeErr
}

// ReadErr is the error that stopped the reader before Close (for example
// io.EOF when the peer of a pipe closed), or nil.
func (d *Driver) ReadErr() error {
	if p := d.readErr.Load(); p != nil {
		return *p
	}
	return nil
}

// LinkStats counts link trouble seen by the driver.
type LinkStats struct {
	WriteErrors    uint64 // frames the link refused to write
	OversizeFrames uint64 // inbound frames larger than the read buffer, dropped
}

// LinkStats returns the driver's link counters.
func (d *Driver) LinkStats() LinkStats {
	return LinkStats{
		WriteErrors:    d.writeErrors.Load(),
		OversizeFrames: d.oversizeFrames.Load(),
	}
}
