package stack

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// echoQueueLen bounds the replies an EchoSocket holds.
const echoQueueLen = 64

type echoRecord struct {
	from       netip.Addr
	seq        uint16
	payloadLen int
}

// EchoSocket sends ICMP echo requests with its own identifier and receives
// the matching replies, like Linux's unprivileged ping socket.
type EchoSocket struct {
	s        *Stack
	id       uint16
	send     sendState
	readable func()
	q        [echoQueueLen]echoRecord
	head, n  int
	closed   bool
}

// OpenEcho opens an echo socket with a free identifier, chosen with the
// stack's keyed generator so that it is not guessable.
func (s *Stack) OpenEcho() (*EchoSocket, error) {
	if s.closed {
		return nil, fmt.Errorf("stack: open echo: %w", net.ErrClosed)
	}
	if len(s.echo) >= 1<<16 {
		return nil, fmt.Errorf("stack: open echo: no free identifier: %w", syscall.EADDRINUSE)
	}
	id := uint16(s.echoRand.Uint64())
	for s.echo[id] != nil {
		id++
	}
	e := &EchoSocket{s: s, id: id}
	s.echo[id] = e
	return e, nil
}

// ID returns the echo identifier.
func (e *EchoSocket) ID() uint16 { return e.id }

// SetWakers: readable when a reply arrives in an empty queue, writable when
// a send waiting for ARP is done; both on Close. They must not block.
func (e *EchoSocket) SetWakers(readable, writable func()) {
	e.readable = readable
	e.send.writable = writable
}

// Send sends an echo request to dst with sequence number seq. Errors are
// those of UDPSocket.SendTo, ErrResolving included.
func (e *EchoSocket) Send(now time.Time, dst netip.Addr, seq uint16, payload []byte) error {
	if e.closed {
		return fmt.Errorf("stack: echo: %w", net.ErrClosed)
	}
	s := e.s
	s.now = now
	if len(payload) > MaxUDPPayload {
		return fmt.Errorf("stack: echo: %d bytes > %d: %w", len(payload), MaxUDPPayload, syscall.EMSGSIZE)
	}
	dst = dst.Unmap()
	if !dst.Is4() {
		return fmt.Errorf("stack: echo to %v: %w", dst, syscall.EINVAL)
	}
	rt, err := s.route(dst)
	if err != nil {
		return err
	}
	frame, t := s.newPacket(wire.ICMPv4HeaderLen + len(payload))
	copy(t[wire.ICMPv4HeaderLen:], payload)
	h := wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: uint32(e.id)<<16 | uint32(seq)}
	h.Encode(t)
	s.stats.ICMP.OutMsgs++
	s.stats.ICMP.OutEchos++
	e.send.resolving = false
	e.send.result = nil
	queued, err := s.emit(frame, wire.ProtoICMP, s.addr, dst, rt)
	if err != nil {
		return err
	}
	s.finish()
	if queued {
		s.wait(&e.send, rt.nextHop)
		return ErrResolving
	}
	return nil
}

// Resolving reports whether the last Send still waits for ARP.
func (e *EchoSocket) Resolving() bool { return e.send.resolving }

// SendResult is the outcome of the last Send that returned ErrResolving.
func (e *EchoSocket) SendResult() error { return e.send.result }

// Readable reports whether a reply is queued.
func (e *EchoSocket) Readable() bool { return e.n > 0 }

// Recv dequeues the oldest reply. ok is false when none is queued.
func (e *EchoSocket) Recv() (from netip.Addr, seq uint16, payloadLen int, ok bool) {
	if e.n == 0 {
		return netip.Addr{}, 0, 0, false
	}
	r := e.q[e.head]
	e.head = (e.head + 1) % echoQueueLen
	e.n--
	return r.from, r.seq, r.payloadLen, true
}

// deliver queues a reply; false when the queue is full or closed.
func (e *EchoSocket) deliver(from netip.Addr, seq uint16, payloadLen int) bool {
	if e.closed || e.n == echoQueueLen {
		return false
	}
	e.q[(e.head+e.n)%echoQueueLen] = echoRecord{from: from, seq: seq, payloadLen: payloadLen}
	e.n++
	if e.n == 1 && e.readable != nil {
		e.readable()
	}
	return true
}

// Close releases the identifier and fires both wakers.
func (e *EchoSocket) Close() {
	if e.closed {
		return
	}
	e.closed = true
	e.send.resolving = false
	delete(e.s.echo, e.id)
	e.n = 0
	if e.readable != nil {
		e.readable()
	}
	if e.send.writable != nil {
		e.send.writable()
	}
}
