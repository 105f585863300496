package tcp

import (
	"net/netip"
	"time"
)

// Link backpressure, the analogue of Linux's TCP Small Queues: when the
// link toward the peer has no room, a connection does not produce the
// data segments the link would drop. It waits on the Endpoints' throttled
// list instead, and ResumeOutput lets the waiting connections send again,
// oldest first, once the link has drained. Held data is not in flight: no
// retransmission, probe or persist timer runs for it.
//
// Held: new data and the FIN behind it, retransmissions during SACK
// recovery and after a timeout, persist and loss probes. Never held: ACKs,
// window updates, SYN, RST, zero-window and keepalive probes, and the one
// segment an ACK's loss signal resends at once (fast retransmit, partial
// ACK): they are few and what recovery hinges on, and the driver keeps a
// reserve of the link's room for them. A held connection with nothing in
// flight runs no timer, so it waits as long as the link stays full (as
// with TSQ, a link that never drains stalls its senders).

// RoomOutput is an Output that knows how many more frames the link takes
// now. LinkRoom returns that number for segments to remote, or a negative
// number when there is no limit (a link that does not report room, or a
// destination that does not use the link, such as ourselves).
type RoomOutput interface {
	Output
	LinkRoom(remote netip.Addr) int
}

// linkRoom is out's room toward c's peer, negative for no limit.
func (c *Conn) linkRoom(out Output) int {
	ro, ok := out.(RoomOutput)
	if !ok {
		return -1
	}
	return ro.LinkRoom(c.remote.Addr())
}

// holdOutput reports whether c must not produce its next data segment
// now, and if so files c on the throttled list (once). It holds when the
// link has no room, and when others already wait for room: they go first,
// in the order they came, when ResumeOutput runs (the stack runs it at the
// end of every call).
func (c *Conn) holdOutput(out Output) bool {
	if c.throttled {
		return true // already waiting, and not the one being resumed
	}
	e := c.e
	room := c.linkRoom(out)
	if room < 0 || (room > 0 && (e.throttleHead == len(e.throttledQ) || e.resuming == c)) {
		return false
	}
	c.throttled = true
	e.throttledQ = append(e.throttledQ, c)
	e.stats.LinkHolds++
	return true
}

// Throttled reports whether connections hold data for lack of link room:
// the caller should run ResumeOutput when the link has room again.
func (e *Endpoints) Throttled() bool { return e.throttleHead < len(e.throttledQ) }

// ResumeOutput lets the connections that held data for lack of link room
// send again, oldest first, while out reports room. A connection that
// fills the room goes back to the end of the list with what it still
// holds.
func (e *Endpoints) ResumeOutput(now time.Time, out Output) {
	for e.throttleHead < len(e.throttledQ) {
		c := e.throttledQ[e.throttleHead]
		if c.linkRoom(out) == 0 {
			return
		}
		e.popThrottled()
		c.throttled = false
		e.resuming = c
		c.output(now, out)
		e.resuming = nil
		e.schedule(c)
	}
}

// popThrottled drops the list's first entry, compacting the list once
// half of it is spent so that it never grows while it never empties.
func (e *Endpoints) popThrottled() {
	e.throttledQ[e.throttleHead] = nil
	e.throttleHead++
	n := len(e.throttledQ) - e.throttleHead
	switch {
	case n == 0:
		e.throttledQ, e.throttleHead = e.throttledQ[:0], 0
	case e.throttleHead >= 64 && e.throttleHead >= n:
		copy(e.throttledQ, e.throttledQ[e.throttleHead:])
		clear(e.throttledQ[n:])
		e.throttledQ, e.throttleHead = e.throttledQ[:n], 0
	}
}

// unthrottle takes c off the throttled list (it closed).
func (e *Endpoints) unthrottle(c *Conn) {
	if !c.throttled {
		return
	}
	c.throttled = false
	q := e.throttledQ
	for i := e.throttleHead; i < len(q); i++ {
		if q[i] == c {
			copy(q[i:], q[i+1:])
			q[len(q)-1] = nil
			e.throttledQ = q[:len(q)-1]
			break
		}
	}
	if e.throttleHead == len(e.throttledQ) {
		e.throttledQ, e.throttleHead = e.throttledQ[:0], 0
	}
}
