package netconn

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/microtcp/microtcp/core/stack"
)

// PacketConn is a UDP socket. It implements net.PacketConn and, for the
// Read/Write/RemoteAddr of a connected socket, net.Conn.
//
// It starts no goroutine: the core's wakers post tokens on 1-slot channels
// and a blocked call waits in a select on its token, its deadline and close.
// Reads are serialised by one sema and writes by another, so a token is
// consumed by the one caller that needs it.
type PacketConn struct {
	d       *Driver
	sock    *stack.UDPSocket
	network string   // "udp" or "udp4", echoed in errors as package net does
	laddr   net.Addr // *net.UDPAddr
	raddr   net.Addr // *net.UDPAddr, or nil when not connected

	readable chan struct{}
	writable chan struct{}
	rdl, wdl *deadline

	rsem sema // serialises readers
	wsem sema // serialises writers

	closeOnce sync.Once
	closed    chan struct{}
}

var (
	_ net.PacketConn = (*PacketConn)(nil)
	_ net.Conn       = (*PacketConn)(nil)
)

// OpenUDP binds a UDP socket to local (port 0 picks an ephemeral port,
// an unspecified address binds every address of the stack) and, when remote
// is valid, connects it. Errors are the core's (syscall.EADDRINUSE,
// syscall.EADDRNOTAVAIL, net.ErrClosed…), unwrapped: the caller knows the
// operation and builds the *net.OpError.
func OpenUDP(d *Driver, network string, local, remote netip.AddrPort) (*PacketConn, error) {
	c := &PacketConn{
		d:        d,
		network:  network,
		readable: make(chan struct{}, 1),
		writable: make(chan struct{}, 1),
		rdl:      newDeadline(),
		wdl:      newDeadline(),
		rsem:     newSema(),
		wsem:     newSema(),
		closed:   make(chan struct{}),
	}
	err := d.Do(func(st *stack.Stack, _ time.Time) error {
		sock, err := st.OpenUDP(local)
		if err != nil {
			return err
		}
		if remote.IsValid() {
			if err := sock.Connect(remote); err != nil {
				sock.Close()
				return err
			}
		}
		sock.SetWakers(notifier(c.readable), notifier(c.writable))
		c.sock = sock
		c.laddr = udpAddr(sock.LocalAddr())
		c.raddr = udpAddr(sock.RemoteAddr())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// notifier returns a waker: a non-blocking send, because wakers run under
// the driver lock and one pending token per direction is enough.
func notifier(ch chan struct{}) func() {
	return func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// ReadFrom reads one datagram. A datagram longer than b is truncated to
// len(b) and the rest discarded, as on Linux.
func (c *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.read(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadFromUDPAddrPort is ReadFrom without the allocation of a *net.UDPAddr.
func (c *PacketConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.read(b)
}

// Read reads one datagram per call; boundaries are kept.
func (c *PacketConn) Read(b []byte) (int, error) {
	n, _, err := c.read(b)
	return n, err
}

func (c *PacketConn) read(b []byte) (int, netip.AddrPort, error) {
	if !c.rsem.acquire(c.closed, c.d.Done(), c.rdl.wait()) {
		return 0, netip.AddrPort{}, c.opError("read", nil, c.waitError())
	}
	defer c.rsem.release()
	for {
		if c.isClosed() {
			return 0, netip.AddrPort{}, c.opError("read", nil, net.ErrClosed)
		}
		// Like package net, a passed deadline wins even over queued data.
		if c.rdl.expired() {
			return 0, netip.AddrPort{}, c.opError("read", nil, os.ErrDeadlineExceeded)
		}
		_, _, err := c.d.lock()
		if err != nil {
			return 0, netip.AddrPort{}, c.opError("read", nil, err)
		}
		n, from, ok := c.sock.ReadFrom(b)
		c.d.unlock()
		if ok {
			return n, from, nil
		}
		awaitEvent(c.readable, c.rdl, c.closed, c.d)
	}
}

// WriteTo sends one datagram to addr (a *net.UDPAddr, or a net.Addr whose
// String is an "ip:port" literal). When the next hop is still being
// resolved it waits, without holding the stack, until ARP answers, gives up
// (syscall.EHOSTUNREACH) or the write deadline passes.
func (c *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.raddr != nil {
		// Package net refuses WriteTo on a connected socket; so do we.
		return 0, c.opError("write", addr, net.ErrWriteToConnected)
	}
	dst, err := AddrPortOf(addr)
	if err != nil {
		return 0, c.opError("write", addr, err)
	}
	return c.write(b, dst, addr)
}

// WriteToUDPAddrPort is WriteTo without the net.Addr conversion.
func (c *PacketConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.raddr != nil {
		return 0, c.opError("write", udpAddr(addr), net.ErrWriteToConnected)
	}
	return c.write(b, addr, udpAddr(addr))
}

// Write sends one datagram to the connected peer.
func (c *PacketConn) Write(b []byte) (int, error) {
	return c.write(b, netip.AddrPort{}, c.raddr)
}

func (c *PacketConn) write(b []byte, dst netip.AddrPort, addr net.Addr) (int, error) {
	if !c.wsem.acquire(c.closed, c.d.Done(), c.wdl.wait()) {
		return 0, c.opError("write", addr, c.waitError())
	}
	defer c.wsem.release()
	if c.isClosed() {
		return 0, c.opError("write", addr, net.ErrClosed)
	}
	if c.wdl.expired() {
		return 0, c.opError("write", addr, os.ErrDeadlineExceeded)
	}
	_, now, err := c.d.lock()
	if err != nil {
		return 0, c.opError("write", addr, err)
	}
	err = c.sock.SendTo(now, b, dst)
	c.d.unlock()
	if err == nil {
		return len(b), nil
	}
	if !errors.Is(err, stack.ErrResolving) {
		return 0, c.opError("write", addr, err)
	}
	for {
		_, _, err := c.d.lock()
		if err != nil {
			return 0, c.opError("write", addr, err)
		}
		resolving := c.sock.Resolving()
		var result error
		if !resolving {
			result = c.sock.SendResult()
		}
		c.d.unlock()
		if !resolving {
			if result != nil {
				return 0, c.opError("write", addr, result)
			}
			return len(b), nil
		}
		if c.isClosed() {
			return 0, c.opError("write", addr, net.ErrClosed)
		}
		if c.wdl.expired() {
			// The datagram stays queued behind ARP, as in a kernel.
			return 0, c.opError("write", addr, os.ErrDeadlineExceeded)
		}
		parkEvent(c.writable, c.wdl, c.closed, c.d)
	}
}

// Close closes the socket and frees its port; blocked calls return an error
// wrapping net.ErrClosed. A second Close returns such an error too.
func (c *PacketConn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closed)
		c.rdl.stop()
		c.wdl.stop()
		// After Stack.Close the core already closed the socket.
		_ = c.d.Do(func(*stack.Stack, time.Time) error {
			c.sock.Close()
			return nil
		})
	})
	if !first {
		return c.opError("close", c.raddr, net.ErrClosed)
	}
	return nil
}

func (c *PacketConn) isClosed() bool { return isClosed(c.closed) }

// waitError says why a wait for a turn ended: closed, or deadline.
func (c *PacketConn) waitError() error {
	if c.isClosed() || isClosed(c.d.Done()) {
		return net.ErrClosed
	}
	return os.ErrDeadlineExceeded
}

// LocalAddr returns the bound address as a *net.UDPAddr.
func (c *PacketConn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the connected peer as a *net.UDPAddr, or nil.
func (c *PacketConn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets both deadlines. See net.Conn.
func (c *PacketConn) SetDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", c.raddr, net.ErrClosed)
	}
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; a change wakes a blocked read.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", c.raddr, net.ErrClosed)
	}
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline; a change wakes a blocked write.
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", c.raddr, net.ErrClosed)
	}
	c.wdl.set(t)
	return nil
}

// opError builds the error package net would return (DESIGN.md §4). addr
// is the peer involved: the destination of a write, the connected peer of a
// read (nil when unconnected).
func (c *PacketConn) opError(op string, addr net.Addr, err error) error {
	if op == "read" {
		addr = c.raddr
	}
	return &net.OpError{Op: op, Net: c.network, Source: c.laddr, Addr: addr, Err: err}
}
