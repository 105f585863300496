package tcp

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"
)

// This file holds the calls the host stack (core/stack) needs beyond the
// user calls of RFC 9293 §3.10: learning from the network layer that a peer
// cannot be reached, and shutting the whole layer down.

// FailSynSent ends, with err, every connection still in SYN-SENT whose
// remote address unreachable accepts. The stack calls it when ARP gives up
// on a next hop: RFC 1122 4.2.3.9 lets a hard error abort an opening
// connection, and retransmitting the SYN to a neighbour that never answers
// only delays the failure the user will see anyway.
func (e *Endpoints) FailSynSent(unreachable func(remote netip.Addr) bool, err error) {
	for _, c := range e.conns {
		if c.state == StateSynSent && unreachable(c.remote.Addr()) {
			c.terminate(err)
		}
	}
}

// Shutdown closes every listener, resetting the connections they had not
// handed out, and aborts every connection (RFC 9293 §3.10.5 ABORT: a RST
// where the peer holds state). Every waker fires, listeners' included, so
// that nobody keeps waiting on a host that is gone.
func (e *Endpoints) Shutdown(now time.Time, out Output) {
	for _, l := range e.listeners {
		l.Close(now, out)
		if l.waker != nil {
			l.waker()
		}
	}
	for _, c := range e.conns {
		c.Abort(now, out)
	}
}

// Closed reports whether the listener was closed (by Close or Shutdown).
func (l *Listener) Closed() bool { return l.closed }

// ListenPort picks an ephemeral port (RFC 6056) for a listener on addr:
// one that no listener and no connection of addr uses.
func (e *Endpoints) ListenPort(addr netip.Addr) (uint16, error) {
	used := make(map[uint16]bool)
	for id := range e.conns {
		if id.local.Addr() == addr || addr.IsUnspecified() {
			used[id.local.Port()] = true
		}
	}
	lo, hi := uint32(e.cfg.EphemeralLow), uint32(e.cfg.EphemeralHigh)
	n := hi - lo + 1
	off := tupleHash(&e.cfg.Secret, 'l', netip.AddrPortFrom(addr, 0), netip.AddrPort{})
	for i := uint32(0); i < n; i++ {
		p := uint16(lo + (off+e.nextPort+i)%n)
		if used[p] || e.anyListenerOnPort(p) {
			continue
		}
		e.nextPort += i + 1
		return p, nil
	}
	return 0, fmt.Errorf("tcp: no free port to listen on %v: %w", addr, syscall.EADDRINUSE)
}

func (e *Endpoints) anyListenerOnPort(p uint16) bool {
	for ap := range e.listeners {
		if ap.Port() == p {
			return true
		}
	}
	return false
}
