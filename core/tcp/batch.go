package tcp

import (
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// PayloadSource is where a segment's payload lives: the send buffer. Peek
// copies up to len(p) bytes from offset off and returns how many it copied.
type PayloadSource interface {
	Peek(off int, p []byte) int
}

// SourceOutput is an Output that can copy a payload straight from the send
// buffer into the frame it builds, saving the copy through a scratch
// buffer. The engine uses it when out implements it.
type SourceOutput interface {
	Output
	// SendTCPFrom sends f with the n bytes src holds from offset off as
	// its payload. src is valid only during the call.
	SendTCPFrom(local, remote netip.AddrPort, f *wire.TCPFields, src PayloadSource, off, n int)
}

// BeginBatch tells the engine that a burst of inbound segments follows
// (frames read from a link in one go). Until EndBatch, acknowledgments that
// only report new in-order data may be held back and sent once per
// connection at EndBatch, like a receiver with GRO/LRO acknowledges one
// coalesced super-segment. Everything else (duplicate ACKs for
// out-of-order data, a filled hole, a FIN, window updates) still goes out
// at once.
func (e *Endpoints) BeginBatch() { e.inBatch = true }

// EndBatch ends the burst begun by BeginBatch and sends the ACKs held back
// during it: one per connection that still owes one.
func (e *Endpoints) EndBatch(now time.Time, out Output) {
	e.inBatch = false
	for i, c := range e.heldAcks {
		e.heldAcks[i] = nil
		c.ackHeld = false
		// A connection that closed meanwhile owes nothing; one whose ACK
		// left with data or another ACK since owes nothing either.
		if c.state == StateClosed || c.unackedBytes == 0 {
			continue
		}
		c.sendAck(now, out)
		e.schedule(c)
	}
	e.heldAcks = e.heldAcks[:0]
}

// maxHeldAck bounds the data one held ACK may cover, as GRO bounds a
// super-segment to 64 KiB: a larger stretch ACK would release a burst
// from the sender that a queue on the path would drop.
const maxHeldAck = 64 << 10

// holdAck reports whether the ACK that c owes for in-order data may wait
// for EndBatch, and if so, files c for it. It waits only inside a batch,
// for less than maxHeldAck and less than a quarter of the receive window,
// so the sender never stalls on a long burst.
func (c *Conn) holdAck() bool {
	e := c.e
	if !e.inBatch || c.unackedBytes >= maxHeldAck || 4*c.unackedBytes >= c.rcvBuf.size {
		return false
	}
	if !c.ackHeld {
		c.ackHeld = true
		e.heldAcks = append(e.heldAcks, c)
	}
	return true
}
