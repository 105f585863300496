package microtcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/netconn"
)

// Dialer holds options for connecting, like net.Dialer. Its DialContext
// fits http.Transport.DialContext.
type Dialer struct {
	Stack     *Stack        // required
	Timeout   time.Duration // bound on the whole dial; zero = none
	LocalAddr net.Addr      // local address to bind (*net.TCPAddr or *net.UDPAddr); nil = any

	// KeepAlive is the TCP keep-alive period, as in net.Dialer: zero
	// enables keep-alive with package net's default (15 s), negative
	// disables it.
	KeepAlive time.Duration
}

// Dial connects to address on the named network.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on the named network. For "tcp" and
// "tcp4" it returns a *netconn.TCPConn once the handshake completed;
// cancelling ctx or reaching Timeout aborts the handshake and returns the
// context's error in a *net.OpError. For "udp" and "udp4" it returns a
// connected socket (one datagram per Read/Write).
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d == nil || d.Stack == nil {
		return nil, errors.New("microtcp: Dialer.Stack is nil")
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	return d.Stack.dial(ctx, network, address, d.LocalAddr, keepAliveConfig(d.KeepAlive))
}

// Dial is Dialer{Stack: s}.Dial.
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	return s.dial(context.Background(), network, address, nil, keepAliveConfig(0))
}

// DialContext is Dialer{Stack: s}.DialContext.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return s.dial(ctx, network, address, nil, keepAliveConfig(0))
}

func (s *Stack) dial(ctx context.Context, network, address string, laddr net.Addr, ka net.KeepAliveConfig) (net.Conn, error) {
	opError := func(raddr net.Addr, err error) error {
		return &net.OpError{Op: "dial", Net: network, Source: laddr, Addr: raddr, Err: err}
	}
	proto, err := transport(network)
	if err != nil {
		return nil, opError(nil, err)
	}
	raddr, err := parseHostPort(address)
	if err != nil {
		return nil, opError(nil, err)
	}
	if raddr.Addr().IsUnspecified() {
		// As in package net, an empty or unspecified host means this host.
		raddr = netip.AddrPortFrom(s.addr.Addr(), raddr.Port())
	}
	if raddr.Port() == 0 {
		return nil, opError(nil, &net.AddrError{Err: "port 0 is not a destination", Addr: address})
	}
	local := netip.AddrPortFrom(s.addr.Addr(), 0)
	if laddr != nil {
		local, err = netconn.AddrPortOf(laddr)
		if err != nil {
			return nil, opError(hostAddr(proto, raddr), err)
		}
		if local.Addr().IsUnspecified() {
			// A connected socket has one source address: ours.
			local = netip.AddrPortFrom(s.addr.Addr(), local.Port())
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, opError(hostAddr(proto, raddr), err)
	}
	if proto == "tcp" {
		if raddr.Addr().IsLoopback() && laddr == nil {
			local = netip.AddrPort{} // the stack picks 127.0.0.1
		}
		c, err := netconn.DialTCP(ctx, s.d, network, local, raddr, ka)
		if err != nil {
			return nil, opError(hostAddr(proto, raddr), err)
		}
		return c, nil
	}
	c, err := netconn.OpenUDP(s.d, network, local, raddr)
	if err != nil {
		return nil, opError(hostAddr(proto, raddr), err)
	}
	return c, nil
}
