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
// coalesced super-segment.
func (e *Endpoints) BeginBatch() {
	// Implemented by the ACK-coalescing change (issue #6); until then
	// every ACK goes out at once, which is always correct.
}

// EndBatch ends the burst begun by BeginBatch and sends the ACKs held back
// during it.
func (e *Endpoints) EndBatch(now time.Time, out Output) {
	_, _ = now, out
}
