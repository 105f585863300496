package udp

import (
	"fmt"
	"net"
	"net/netip"
)

// Socket is one bound UDP endpoint and its receive queue.
type Socket struct {
	table    *Table
	local    netip.AddrPort
	remote   netip.AddrPort
	q        queue
	readable func()
	closed   bool
}

// Local returns the bound address and port.
func (s *Socket) Local() netip.AddrPort { return s.local }

// Remote returns the connected peer, or the zero AddrPort.
func (s *Socket) Remote() netip.AddrPort { return s.remote }

// Connect restricts input to datagrams from remote. If the socket is bound
// to the unspecified address, it is narrowed to src (the address the host
// will send from), as connect(2) does. A zero remote disconnects.
func (s *Socket) Connect(remote netip.AddrPort, src netip.Addr) error {
	if s.closed {
		return fmt.Errorf("udp: connect: %w", net.ErrClosed)
	}
	s.remote = remote
	if remote.IsValid() && s.local.Addr().IsUnspecified() && src.IsValid() {
		// Narrowing a wildcard bind to one of its addresses cannot clash.
		s.local = netip.AddrPortFrom(src, s.local.Port())
	}
	return nil
}

// SetReadableWaker sets the function called when the queue goes from empty
// to non-empty, and when the socket closes. It must not block.
func (s *Socket) SetReadableWaker(f func()) { s.readable = f }

// Deliver queues a datagram (payload is copied). It returns false when the
// receive queue has no room or the socket is closed: the datagram is dropped.
func (s *Socket) Deliver(from netip.AddrPort, payload []byte) bool {
	if s.closed {
		return false
	}
	wasEmpty := s.q.count == 0
	if !s.q.push(from, payload) {
		return false
	}
	if wasEmpty && s.readable != nil {
		s.readable()
	}
	return true
}

// Read dequeues the oldest datagram into b; a datagram longer than b is
// truncated and the rest discarded. ok is false when the queue is empty.
func (s *Socket) Read(b []byte) (n int, from netip.AddrPort, ok bool) {
	return s.q.pop(b)
}

// Queued returns the number of datagrams waiting.
func (s *Socket) Queued() int { return s.q.count }

// QueuedBytes returns the bytes of the receive queue in use (records included).
func (s *Socket) QueuedBytes() int { return s.q.used }

// Closed reports whether Close was called.
func (s *Socket) Closed() bool { return s.closed }

// Close unbinds the socket, drops its queue and fires the readable waker so
// that a blocked reader notices. Closing twice is harmless.
func (s *Socket) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.table.remove(s)
	s.q = queue{}
	if s.readable != nil {
		s.readable()
	}
}
