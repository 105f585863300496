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

// BatchReader is a link that hands over the frames queued in it in one
// call, lending its own buffers instead of copying each frame into the
// reader's. The driver's reader uses it when the link has it, and then
// takes the driver lock once per batch (link.PipeEnd implements it).
//
// ReadBatch blocks until at least one frame is queued, calls fn for each
// queued frame (a bounded number), with a slice valid only during fn, and
// returns nil; or it returns the error that ends reading, like Read. fn must
// be called without any lock that a Write on the same link takes.
type BatchReader interface {
	ReadBatch(fn func(frame []byte)) error
}

// BatchWriter is a link that takes several frames in one call. An error
// means none of them was written.
type BatchWriter interface {
	WriteBatch(frames [][]byte) error
}

// pendingCounter is a link that can tell cheaply how many inbound frames
// wait for the reader (link.PipeEnd.Pending).
type pendingCounter interface {
	Pending() int
}

// Driver runs one core stack over one link. It is safe for concurrent use.
type Driver struct {
	link io.ReadWriteCloser
	br   BatchReader    // link as a BatchReader, or nil
	bw   BatchWriter    // link as a BatchWriter, or nil
	pend pendingCounter // link as a pendingCounter, nil unless br is set
	room linkRoom       // link-room reporting, if the link offers it (room.go)

	// mu guards st, timer state and closed: the core is not safe for
	// concurrent use, so every call into it holds mu.
	mu       sync.Mutex
	st       *stack.Stack
	timer    *time.Timer
	armed    time.Time // when the timer fires (at or before the next deadline); zero = stopped or fired
	closed   bool
	closedCh chan struct{}
	// pollDue: the timer fired while inbound frames waited; the reader
	// runs Poll after its batch (deferPollLocked).
	pollDue bool
	// taken is the slice TakeFrames fills, kept for its capacity. Guarded
	// by mu; unlock swaps it with spent.
	taken [][]byte

	// wmu keeps link writes in the order the core queued them: it is taken
	// before mu is released, so a later call cannot overtake.
	wmu sync.Mutex
	// spent holds the frames of the last write, which the link has copied:
	// the next unlock that writes gives them back to the stack
	// (RecycleFrames), so frame buffers are reused, not allocated per
	// segment. Guarded by wmu; given back with mu held too.
	spent [][]byte

	// The reader goroutine's batch state (readBatches).
	batching  bool      // mu is held and BeginBatch called
	batchNow  time.Time // the now of the batch
	batchStop bool      // the driver closed: stop reading
	batchFn   func([]byte)

	// spinners counts the blocked calls that poll before they park
	// (spinAwait).
	spinners atomic.Int32

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
	d.br, _ = link.(BatchReader)
	d.bw, _ = link.(BatchWriter)
	if d.br != nil {
		d.pend, _ = link.(pendingCounter)
	}
	d.batchFn = d.inputBatched
	d.initRoom()
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
	d.setLinkRoomLocked()
	return d.st, time.Now(), nil
}

// unlock takes the queued frames, re-arms the timer, and writes the frames
// after releasing mu (holding wmu across the release keeps their order).
// The frames of the previous write go back to the stack on the way.
func (d *Driver) unlock() {
	frames := d.st.TakeFrames(d.taken[:0])
	d.taken = frames
	d.armLocked()
	held := d.tookFramesLocked(len(frames))
	if len(frames) == 0 {
		d.mu.Unlock()
		d.wroteFrames(0, held)
		return
	}
	d.wmu.Lock()
	if len(d.spent) > 0 {
		d.st.RecycleFrames(d.spent)
		clear(d.spent)
	}
	// Swap: frames become spent (ours under wmu), and the emptied slice
	// is the next TakeFrames' (under mu).
	d.taken, d.spent = d.spent[:0], frames
	d.mu.Unlock()
	d.write(frames)
	d.wmu.Unlock()
	d.wroteFrames(len(frames), held)
}

// write sends frames to the link in order. wmu must be held.
func (d *Driver) write(frames [][]byte) {
	if d.bw != nil {
		if err := d.bw.WriteBatch(frames); err != nil {
			d.writeErrors.Add(uint64(len(frames)))
		}
		return
	}
	for _, f := range frames {
		if _, err := d.link.Write(f); err != nil {
			// A lossy link is normal for IP; the protocols above recover.
			d.writeErrors.Add(1)
		}
	}
}

// armLocked makes sure the one protocol timer fires no later than the
// core's next deadline. It moves the timer only to make it earlier: when
// the deadline moves later (every segment sent pushes the retransmission
// timeout) or goes away, the timer is left to fire early, and the poll it
// runs finds nothing due and re-arms it. One spurious poll per timeout
// period is cheaper than a timer reset per call (BenchmarkTCPRoundTrip).
func (d *Driver) armLocked() {
	next := d.st.NextDeadline()
	if next.IsZero() || (!d.armed.IsZero() && !next.Before(d.armed)) {
		return
	}
	d.armed = next
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
	if d.deferPollLocked() {
		d.unlock()
		return
	}
	d.armed = time.Time{} // the timer has fired; force the re-arm
	st.Poll(now)
	d.unlock()
}

// deferPollLocked leaves the timers to the reader when inbound frames wait
// for it: when the reader lags (both CPUs busy), the ACKs among those
// frames would cancel the retransmission and loss-probe timers that are
// due now, and running them first sends spurious retransmissions. The
// reader runs Poll at the end of its batch, after the ACKs. mu is held.
func (d *Driver) deferPollLocked() bool {
	if d.pend == nil || d.pend.Pending() == 0 {
		return false
	}
	select {
	case <-d.readerDone:
		return false // nobody will read them
	default:
	}
	d.pollDue = true
	// The timer has fired and stays stopped: marking the current deadline
	// as armed keeps unlock from re-arming it in the past (a busy loop)
	// until the reader's Poll moves it.
	d.armed = d.st.NextDeadline()
	return true
}

func (d *Driver) readLoop() {
	defer close(d.readerDone)
	if d.br != nil {
		d.readBatches()
		return
	}
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

// readBatches is readLoop for a BatchReader: the driver lock is taken once
// per batch, around BeginBatch, an Input per frame, and EndBatch, so that
// TCP can coalesce the acknowledgments of a burst.
func (d *Driver) readBatches() {
	for {
		err := d.br.ReadBatch(d.batchFn)
		if d.batching {
			d.batching = false
			d.st.EndBatch(d.batchNow)
			if d.pollDue {
				d.pollDue = false
				d.armed = time.Time{} // force the re-arm
				d.st.Poll(time.Now())
			}
			d.unlock()
		}
		if d.batchStop {
			return
		}
		if err != nil {
			if !d.isClosed() {
				stored := err
				d.readErr.Store(&stored)
			}
			return
		}
	}
}

// inputBatched is the ReadBatch callback: it takes the lock at the first
// frame of a batch and hands every frame to the stack.
func (d *Driver) inputBatched(frame []byte) {
	if d.batchStop {
		return
	}
	if !d.batching {
		st, now, err := d.lock()
		if err != nil {
			d.batchStop = true
			return
		}
		d.batching = true
		d.batchNow = now
		st.BeginBatch()
	}
	d.st.Input(d.batchNow, frame)
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
		d.stopRoom()
		d.armed = time.Time{}
		d.st.Close()
		// Close queues a RST for every TCP connection: send them so the
		// peers learn at once instead of after their timeouts.
		frames := d.st.TakeFrames(nil)
		// Taking wmu waits for a writer that is still flushing, so the
		// link is not closed under it (and the RSTs follow its frames).
		d.wmu.Lock()
		d.mu.Unlock()
		d.write(frames)
		d.spent = nil
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
