package link

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// holdTimeout bounds how long a frame held back for reordering waits for a
// successor before it is sent anyway, so that it is never stranded.
const holdTimeout = time.Millisecond

// FaultConfig describes the impairments a Faulty applies to the frames
// written through it. Probabilities are in [0, 1]; durations are >= 0.
type FaultConfig struct {
	Seed      int64         // all randomness comes from this seed
	Loss      float64       // probability a frame is dropped
	Duplicate float64       // probability a frame is sent twice
	Reorder   float64       // probability a frame is held back and sent after the next one
	Corrupt   float64       // probability one random bit of the frame is flipped (on a copy)
	Delay     time.Duration // one-way delay added to every frame
	Jitter    time.Duration // plus a uniform random [0, Jitter); may reorder frames

	// RateBitsPerSec limits the serialisation rate; 0 = unlimited.
	RateBitsPerSec int64
	// QueueLen bounds the backlog waiting for the rate limiter (default
	// DefaultQueueLen); frames beyond it are tail-dropped. Frames only
	// waiting out Delay/Jitter are in flight on the wire, not queued, and
	// are not limited.
	QueueLen int
}

// FaultStats counts what a Faulty did to the frames written through it.
type FaultStats struct {
	Written    uint64 // frames passed to Write
	Dropped    uint64 // frames lost: random loss plus Overflowed
	Overflowed uint64 // frames tail-dropped because the delay queue was full
	Duplicated uint64 // frames sent twice
	Reordered  uint64 // frames held back behind their successor
	Corrupted  uint64 // frames with one bit flipped
	Delivered  uint64 // frames the inner link accepted (duplicates count twice)
}

// Faulty wraps a link and impairs the frames written through it; frames
// read pass through untouched. Wrap both ends of a link to impair both
// directions. Its methods are safe for concurrent use.
//
// Without Delay, Jitter or RateBitsPerSec, Write delivers synchronously.
// Otherwise one goroutine delivers frames in order of their due time.
type Faulty struct {
	inner  io.ReadWriteCloser
	cfg    FaultConfig
	cfgErr error // why the configuration is unusable; every Write reports it
	timed  bool  // frames go through the delay queue and the goroutine

	mu      sync.Mutex
	rng     *rand.Rand
	stats   FaultStats
	closed  bool
	scratch []byte // copy of a frame being corrupted (synchronous mode)

	held       []byte // frame held back for reordering
	heldGen    uint64 // identifies the hold a flush timer belongs to
	heldStop   func() bool
	heldJitter time.Duration

	queue  frameQueue // frames waiting for their due time (timed mode)
	seq    uint64     // tie-breaker keeping equal due times in write order
	txFree time.Time  // when the rate limiter is next idle
	// backlog holds, oldest first, when each frame accepted by the rate
	// limiter finishes serialising; those still in the future form the
	// limiter's queue.
	backlog []time.Time
	// linkErr is the inner link's closed error met by the delivery
	// goroutine, reported by later Writes since that goroutine has no
	// caller to tell.
	linkErr error
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{} // closed when the delivery goroutine has exited

	closeOnce sync.Once
	closeErr  error

	rb batchFallback // ReadBatch's buffer when inner has no ReadBatch
}

// NewFaulty wraps inner with the impairments in cfg. An invalid cfg does not
// panic: every Write then returns an error saying what is wrong.
func NewFaulty(inner io.ReadWriteCloser, cfg FaultConfig) *Faulty {
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	f := &Faulty{
		inner:  inner,
		cfg:    cfg,
		cfgErr: checkFaultConfig(inner, cfg),
		timed:  cfg.Delay > 0 || cfg.Jitter > 0 || cfg.RateBitsPerSec > 0,
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6d6963726f746370)),
	}
	if f.timed && f.cfgErr == nil {
		f.kick = make(chan struct{}, 1)
		f.stop = make(chan struct{})
		f.done = make(chan struct{})
		go f.deliver()
	}
	return f
}

func checkFaultConfig(inner io.ReadWriteCloser, cfg FaultConfig) error {
	if inner == nil {
		return errors.New("link: NewFaulty: nil inner link")
	}
	probs := []struct {
		name string
		p    float64
	}{{"Loss", cfg.Loss}, {"Duplicate", cfg.Duplicate}, {"Reorder", cfg.Reorder}, {"Corrupt", cfg.Corrupt}}
	for _, pr := range probs {
		if math.IsNaN(pr.p) || pr.p < 0 || pr.p > 1 {
			return fmt.Errorf("link: FaultConfig.%s = %v, want a probability in [0, 1]", pr.name, pr.p)
		}
	}
	if cfg.Delay < 0 || cfg.Jitter < 0 {
		return fmt.Errorf("link: FaultConfig Delay %v / Jitter %v must not be negative", cfg.Delay, cfg.Jitter)
	}
	if cfg.RateBitsPerSec < 0 {
		return fmt.Errorf("link: FaultConfig.RateBitsPerSec = %d must not be negative", cfg.RateBitsPerSec)
	}
	return nil
}

// Read reads one frame from the inner link, untouched.
func (f *Faulty) Read(p []byte) (int, error) {
	if f.inner == nil {
		return 0, f.cfgErr
	}
	return f.inner.Read(p)
}

// Write applies the configured faults to one frame and sends what remains.
// It never blocks on the delay queue; a lost frame still reports len(p).
// The caller may reuse p as soon as Write returns. In synchronous mode the
// inner link's Write error is returned (wrapped); in timed mode a frame is
// written later, and once the inner link reports itself closed every
// later Write returns that error.
func (f *Faulty) Write(p []byte) (int, error) {
	if f.cfgErr != nil {
		return 0, f.cfgErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, net.ErrClosed
	}
	if f.linkErr != nil {
		return 0, f.linkErr
	}
	f.stats.Written++

	// Every frame draws the same random numbers in the same order, so the
	// fate of frame i depends only on the seed and i (reproducible runs).
	lossR := f.rng.Float64()
	corruptR := f.rng.Float64()
	bitR := f.rng.Uint64()
	dupR := f.rng.Float64()
	reorderR := f.rng.Float64()
	jitterR := f.rng.Uint64()

	if lossR < f.cfg.Loss {
		f.stats.Dropped++
		return len(p), nil
	}
	frame := p
	if corruptR < f.cfg.Corrupt && len(p) > 0 {
		f.scratch = append(f.scratch[:0], p...)
		bit := bitR % uint64(len(p)*8)
		f.scratch[bit/8] ^= 1 << (bit % 8)
		frame = f.scratch
		f.stats.Corrupted++
	}
	var jitter time.Duration
	if f.cfg.Jitter > 0 {
		jitter = time.Duration(jitterR % uint64(f.cfg.Jitter))
	}
	copies := 1
	if dupR < f.cfg.Duplicate {
		copies = 2
		f.stats.Duplicated++
	}

	heldNow := false
	if f.held == nil && reorderR < f.cfg.Reorder {
		// Hold one copy back until the next frame (or holdTimeout) passes it.
		f.held = append([]byte(nil), frame...)
		f.heldJitter = jitter
		f.stats.Reordered++
		f.heldGen++
		gen := f.heldGen
		f.heldStop = time.AfterFunc(holdTimeout, func() { f.flushHeld(gen) }).Stop
		heldNow = true
		copies--
	}
	var err error
	for range copies {
		if e := f.emit(frame, jitter); e != nil && err == nil {
			err = e
		}
	}
	if f.held != nil && !heldNow {
		// This frame has overtaken the held one, which now follows it.
		f.releaseHeld()
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// releaseHeld sends the frame held back for reordering. f.mu must be held.
func (f *Faulty) releaseHeld() {
	held := f.held
	f.held = nil
	f.heldStop()
	// The held frame's own Write already returned: an error now has no one
	// to report to, and the frame simply is not counted as delivered.
	_ = f.emit(held, f.heldJitter)
}

// flushHeld runs when a held frame found no successor within holdTimeout.
func (f *Faulty) flushHeld(gen uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.held == nil || f.heldGen != gen {
		return
	}
	f.releaseHeld()
}

// emit sends one frame onward: at once, or through the delay queue in timed
// mode. f.mu must be held; frame is borrowed.
func (f *Faulty) emit(frame []byte, jitter time.Duration) error {
	if !f.timed {
		// Synchronous delivery under f.mu keeps frames in order, including
		// a held frame flushed by its timer.
		if _, err := f.inner.Write(frame); err != nil {
			return fmt.Errorf("link: faulty write: %w", err)
		}
		f.stats.Delivered++
		return nil
	}
	now := time.Now()
	due := now
	if f.cfg.RateBitsPerSec > 0 {
		done := 0
		for done < len(f.backlog) && !f.backlog[done].After(now) {
			done++
		}
		f.backlog = f.backlog[done:]
		if len(f.backlog) >= f.cfg.QueueLen {
			// Tail drop, like a router queue in front of a slow link.
			f.stats.Dropped++
			f.stats.Overflowed++
			return nil
		}
		// The frame leaves the limiter once every earlier frame has been
		// serialised and its own bits have gone out.
		start := f.txFree
		if start.Before(now) {
			start = now
		}
		bits := int64(len(frame)) * 8
		f.txFree = start.Add(time.Duration(bits * int64(time.Second) / f.cfg.RateBitsPerSec))
		f.backlog = append(f.backlog, f.txFree)
		due = f.txFree
	}
	due = due.Add(f.cfg.Delay + jitter)
	f.seq++
	heap.Push(&f.queue, &queuedFrame{due: due, seq: f.seq, data: append([]byte(nil), frame...)})
	select {
	case f.kick <- struct{}{}:
	default:
	}
	return nil
}

// deliver is the timed-mode goroutine: it writes each queued frame to the
// inner link when it falls due, in order of due time.
func (f *Faulty) deliver() {
	defer close(f.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var ready [][]byte
	for {
		f.mu.Lock()
		now := time.Now()
		ready = ready[:0]
		for len(f.queue) > 0 && !f.queue[0].due.After(now) {
			ready = append(ready, heap.Pop(&f.queue).(*queuedFrame).data)
		}
		var next time.Time
		if len(f.queue) > 0 {
			next = f.queue[0].due
		}
		f.mu.Unlock()

		// Only this goroutine writes in timed mode, so writing outside
		// the lock cannot reorder frames.
		delivered := uint64(0)
		var linkErr error
		for i, frame := range ready {
			_, err := f.inner.Write(frame)
			switch {
			case err == nil:
				delivered++
			case errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe):
				// Permanent; other errors (a TAP's transient EIO) only
				// lose the frame.
				linkErr = fmt.Errorf("link: faulty write: %w", err)
			}
			ready[i] = nil
		}
		if delivered > 0 || linkErr != nil {
			f.mu.Lock()
			f.stats.Delivered += delivered
			if f.linkErr == nil {
				f.linkErr = linkErr
			}
			f.mu.Unlock()
		}

		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-f.stop:
			timer.Stop()
			return
		case <-f.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// Close closes the inner link, stops the delivery goroutine and waits for
// it to exit. Frames still waiting for their due time are discarded. Close
// is idempotent and returns the inner link's Close error.
func (f *Faulty) Close() error {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.closed = true
		if f.held != nil {
			f.held = nil
			f.heldStop()
		}
		f.queue = nil
		f.mu.Unlock()
		if f.stop != nil {
			close(f.stop)
		}
		if f.inner != nil {
			if err := f.inner.Close(); err != nil {
				f.closeErr = fmt.Errorf("link: faulty close: %w", err)
			}
		}
		if f.done != nil {
			<-f.done
		}
	})
	return f.closeErr
}

// Stats returns a snapshot of the fault counters.
func (f *Faulty) Stats() FaultStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// queuedFrame is a frame waiting in the delay queue.
type queuedFrame struct {
	due  time.Time
	seq  uint64
	data []byte
}

// frameQueue is a min-heap of frames by due time, then write order.
type frameQueue []*queuedFrame

func (q frameQueue) Len() int { return len(q) }
func (q frameQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q frameQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *frameQueue) Push(x any)   { *q = append(*q, x.(*queuedFrame)) }
func (q *frameQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return x
}
