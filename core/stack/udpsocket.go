package stack

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/udp"
	"github.com/microtcp/microtcp/core/wire"
)

// UDPSocket is a bound UDP endpoint. Like the Stack, it is not safe for
// concurrent use.
type UDPSocket struct {
	s       *Stack
	sock    *udp.Socket
	send    sendState
	softErr error // an ICMP error for a connected socket, reported once by SendTo
	closed  bool
}

// OpenUDP binds a UDP socket. Port 0 picks an ephemeral port; the address
// must be unspecified (all local addresses) or ours. Errors wrap
// syscall.EADDRINUSE, syscall.EADDRNOTAVAIL or net.ErrClosed.
func (s *Stack) OpenUDP(local netip.AddrPort) (*UDPSocket, error) {
	if s.closed {
		return nil, fmt.Errorf("stack: open udp: %w", net.ErrClosed)
	}
	a := local.Addr().Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified():
		a = netip.IPv4Unspecified()
	case a != s.addr:
		return nil, fmt.Errorf("stack: bind %v: not a local address: %w", local, syscall.EADDRNOTAVAIL)
	}
	sock, err := s.udp.Bind(netip.AddrPortFrom(a, local.Port()))
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	u := &UDPSocket{s: s, sock: sock}
	s.udpOwners[sock] = u
	return u, nil
}

// LocalAddr returns the bound address and port (the address is unspecified
// for a wildcard bind until Connect narrows it).
func (u *UDPSocket) LocalAddr() netip.AddrPort { return u.sock.Local() }

// RemoteAddr returns the connected peer, or the zero AddrPort.
func (u *UDPSocket) RemoteAddr() netip.AddrPort { return u.sock.Remote() }

// Connect sets the default destination and accepts datagrams only from
// remote (connect(2) on a datagram socket); the zero AddrPort disconnects.
// It clears a pending ICMP error.
func (u *UDPSocket) Connect(remote netip.AddrPort) error {
	if u.closed {
		return fmt.Errorf("stack: connect: %w", net.ErrClosed)
	}
	if !remote.IsValid() {
		// connect(2) with AF_UNSPEC: back to unconnected.
		u.softErr = nil
		return u.sock.Connect(netip.AddrPort{}, netip.Addr{})
	}
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	if !remote.Addr().Is4() {
		return fmt.Errorf("stack: connect %v: not an IPv4 address: %w", remote, syscall.EAFNOSUPPORT)
	}
	u.softErr = nil
	return u.sock.Connect(remote, u.s.addr)
}

// SetWakers sets the readiness callbacks: readable when a datagram arrives
// in an empty queue, writable when a send waiting for ARP is done or an
// ICMP error arrives; both on Close. They run under the driver's lock and
// must not block.
func (u *UDPSocket) SetWakers(readable, writable func()) {
	u.sock.SetReadableWaker(readable)
	u.send.writable = writable
}

// ReadFrom dequeues the oldest datagram into b. A datagram longer than b is
// truncated and the rest discarded, as on Linux. ok is false when nothing
// is queued or the socket is closed.
func (u *UDPSocket) ReadFrom(b []byte) (n int, from netip.AddrPort, ok bool) {
	if u.closed {
		return 0, netip.AddrPort{}, false
	}
	return u.sock.Read(b)
}

// Readable reports whether a datagram is queued.
func (u *UDPSocket) Readable() bool { return !u.closed && u.sock.Queued() > 0 }

// Closed reports whether the socket (or its stack) was closed.
func (u *UDPSocket) Closed() bool { return u.closed }

// SendTo sends payload as one datagram to dst, or to the connected peer
// when dst is the zero AddrPort. It returns nil when the datagram is queued
// as frames, ErrResolving when it waits for ARP (wait for writable, then
// SendResult), or an error wrapping syscall.EMSGSIZE, EDESTADDRREQ,
// EHOSTUNREACH, ECONNREFUSED (a pending ICMP error, reported once),
// EINVAL, or net.ErrClosed. The payload is copied.
func (u *UDPSocket) SendTo(now time.Time, payload []byte, dst netip.AddrPort) error {
	if u.closed {
		return fmt.Errorf("stack: sendto: %w", net.ErrClosed)
	}
	s := u.s
	s.now = now
	// Linux reports a pending socket error on the next send (sock_error).
	if err := u.softErr; err != nil {
		u.softErr = nil
		return err
	}
	if len(payload) > MaxUDPPayload {
		return fmt.Errorf("stack: sendto: %d bytes > %d: %w", len(payload), MaxUDPPayload, syscall.EMSGSIZE)
	}
	if !dst.IsValid() {
		dst = u.sock.Remote()
		if !dst.IsValid() {
			return fmt.Errorf("stack: sendto: %w", syscall.EDESTADDRREQ)
		}
	}
	da := dst.Addr().Unmap()
	if !da.Is4() || dst.Port() == 0 {
		return fmt.Errorf("stack: sendto %v: %w", dst, syscall.EINVAL)
	}
	rt, err := s.route(da)
	if err != nil {
		return err
	}
	local := u.sock.Local()
	src := local.Addr()
	if src.IsUnspecified() {
		src = s.addr
	}
	frame, t := s.newPacket(wire.UDPHeaderLen + len(payload))
	copy(t[wire.UDPHeaderLen:], payload)
	h := wire.UDPFields{SrcPort: local.Port(), DstPort: dst.Port()}
	h.Encode(t, src, da)
	s.stats.UDP.OutDatagrams++
	u.send.resolving = false
	u.send.result = nil
	queued, err := s.emit(frame, wire.ProtoUDP, src, da, rt)
	if err != nil {
		return err
	}
	s.finish()
	if queued {
		s.wait(&u.send, rt.nextHop)
		return ErrResolving
	}
	return nil
}

// Resolving reports whether the last SendTo still waits for ARP.
func (u *UDPSocket) Resolving() bool { return u.send.resolving }

// SendResult is the outcome of the last SendTo that returned ErrResolving,
// once Resolving is false: nil (sent) or an error wrapping
// syscall.EHOSTUNREACH (the neighbour never answered).
func (u *UDPSocket) SendResult() error { return u.send.result }

// Close unbinds the socket and fires both wakers. Later calls fail with
// net.ErrClosed. Closing twice is harmless.
func (u *UDPSocket) Close() {
	if u.closed {
		return
	}
	u.closed = true
	u.send.resolving = false
	delete(u.s.udpOwners, u.sock)
	u.sock.Close() // fires readable
	if u.send.writable != nil {
		u.send.writable()
	}
}
