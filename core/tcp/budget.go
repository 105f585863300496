package tcp

import "time"

// budget is the memory budget of one Endpoints: every byte of send and
// receive buffer storage is drawn from it and returned to it (issue #3,
// "Resources"). Storage is allocated on demand, so the budget bounds what
// connections hold, not what they could hold.
type budget struct {
	limit, inUse, peak int
	denied             uint64

	store storage // storage the rings gave back, for reuse (storage.go)

	// starved are connections whose writer found the send buffer unable
	// to grow; they are woken when storage is returned.
	starved []*Conn
}

// avail is what may still be allocated; a nil budget is unlimited.
func (b *budget) avail() int {
	if b == nil {
		return 1 << 40
	}
	return b.limit - b.inUse
}

// take allocates up to want bytes, leaving keep bytes free for others, and
// returns what it granted: 0 when nothing is left. A grant short of need
// counts as a denial.
func (b *budget) take(want, need, keep int) int {
	if b == nil {
		return want
	}
	n := min(want, b.avail()-keep)
	if n < need {
		b.denied++
	}
	if n <= 0 {
		return 0
	}
	b.inUse += n
	b.peak = max(b.peak, b.inUse)
	return n
}

// untake returns n bytes just taken: unlike give it wakes nobody, as
// nobody could have waited for them meanwhile.
func (b *budget) untake(n int) {
	if b != nil {
		b.inUse -= n
	}
}

// give returns n bytes and wakes the writers that waited for memory.
func (b *budget) give(n int) {
	if b == nil || n <= 0 {
		return
	}
	b.inUse -= n
	b.trim(b.keepable())
	if len(b.starved) == 0 {
		return
	}
	starved := b.starved
	b.starved = nil
	for i, c := range starved {
		starved[i] = nil
		c.budgetWait = false
		c.wake(false, true)
	}
}

// starve records that c's writer waits for memory.
func (b *budget) starve(c *Conn) {
	if b == nil || c.budgetWait {
		return
	}
	c.budgetWait = true
	b.starved = append(b.starved, c)
}

// sendKeep is the part of the budget send buffers may not take. Receive
// storage must stay available: two hosts whose budgets were filled by
// unacknowledged send data could otherwise never accept each other's
// segments, and so never acknowledge and free anything (the guarantee
// Linux's tcp_rmem minimum gives).
func sendKeep(limit int) int { return limit / 4 }

// minConnBuffer is the storage a new connection must be able to get in
// each direction: four segments, or the whole buffer if smaller.
func (e *Endpoints) minConnBuffer() int {
	return min(4*e.cfg.MSS, e.cfg.SendBuffer) + min(4*e.cfg.MSS, e.cfg.ReceiveBuffer)
}

// admit reports whether the budget leaves room for one more connection,
// and counts a denial when it does not.
func (e *Endpoints) admit() bool {
	if e.budget.avail() >= e.minConnBuffer() {
		return true
	}
	e.budget.denied++
	return false
}

// idleRelease is how long an empty ring keeps its storage: a connection
// that keeps data moving reuses it rather than allocating per segment, and
// an idle one gives it back within twice this.
const idleRelease = time.Second

// ringEmptied is told that one of c's rings may have emptied. Under memory
// pressure (half the budget in use) the storage goes back at once;
// otherwise the next idle sweep releases it if it stays unused.
func (e *Endpoints) ringEmptied(now time.Time, c *Conn) {
	snd, rcv := c.emptyRings()
	if !snd && !rcv {
		return
	}
	if e.budget.avail() < e.budget.limit/2 {
		if snd {
			c.sndBuf.release()
		}
		if rcv {
			c.rcvBuf.release()
		}
		return
	}
	e.idle[c] = struct{}{}
	if e.sweep.IsZero() {
		e.sweep = now.Add(idleRelease)
	}
}

// sweepIdle releases the storage of empty rings not written to since the
// previous sweep, and looks again later at those that were.
func (e *Endpoints) sweepIdle(now time.Time) {
	e.sweep = time.Time{}
	list := make([]*Conn, 0, len(e.idle))
	for c := range e.idle {
		list = append(list, c)
	}
	clear(e.idle)
	for _, c := range list {
		snd, rcv := c.emptyRings()
		for _, r := range [...]struct {
			r     *ring
			empty bool
		}{{&c.sndBuf, snd}, {&c.rcvBuf, rcv}} {
			if r.empty && !r.r.touched {
				r.r.release()
			}
			r.r.touched = false
		}
		e.ringEmptied(now, c)
	}
}

// forgetIdle is told that c released its rings for good (closed,
// TIME-WAIT): no sweep needs to look at it.
func (e *Endpoints) forgetIdle(c *Conn) {
	delete(e.idle, c)
	if len(e.idle) == 0 {
		e.sweep = time.Time{}
	}
}
