package microtcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/netconn"
)

// ListenConfig holds options for listening, like net.ListenConfig.
type ListenConfig struct {
	Stack *Stack // required

	// KeepAlive is the keep-alive period of accepted TCP connections, as
	// in net.ListenConfig: zero enables keep-alive with package net's
	// default (15 s), negative disables it.
	KeepAlive time.Duration

	// Backlog bounds the connections waiting for Accept [0 = 4096,
	// Linux's SOMAXCONN]; beyond it SYNs are dropped and retried.
	Backlog int
}

// Listen announces on the stack ("tcp" or "tcp4"), e.g. on ":80",
// "10.0.0.4:80" or port 0 for an ephemeral port. The listener is a
// *netconn.Listener; its Accept returns *netconn.TCPConn values.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if lc == nil || lc.Stack == nil {
		return nil, errors.New("microtcp: ListenConfig.Stack is nil")
	}
	if lc.Backlog < 0 {
		return nil, fmt.Errorf("microtcp: ListenConfig.Backlog %d is negative", lc.Backlog)
	}
	return lc.Stack.listen(ctx, network, address, lc.Backlog, keepAliveConfig(lc.KeepAlive))
}

// ListenPacket opens a UDP socket ("udp" or "udp4"), e.g. on ":53",
// "10.0.0.4:53" or port 0 for an ephemeral port.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	if lc == nil || lc.Stack == nil {
		return nil, errors.New("microtcp: ListenConfig.Stack is nil")
	}
	return lc.Stack.listenPacket(ctx, network, address)
}

// Listen is ListenConfig{Stack: s}.Listen with a background context.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	return s.listen(context.Background(), network, address, 0, keepAliveConfig(0))
}

// ListenPacket is ListenConfig{Stack: s}.ListenPacket with a background
// context.
func (s *Stack) ListenPacket(network, address string) (net.PacketConn, error) {
	return s.listenPacket(context.Background(), network, address)
}

func (s *Stack) listen(ctx context.Context, network, address string, backlog int, ka net.KeepAliveConfig) (net.Listener, error) {
	ap, opError, err := parseListen(ctx, network, address, "tcp")
	if err != nil {
		return nil, err
	}
	ln, err := netconn.ListenTCP(s.d, network, ap, backlog, ka)
	if err != nil {
		return nil, opError(err)
	}
	return ln, nil
}

// keepAliveConfig reads a KeepAlive duration the way package net does:
// zero means on with the default period, negative off.
func keepAliveConfig(d time.Duration) net.KeepAliveConfig {
	switch {
	case d < 0:
		return net.KeepAliveConfig{Enable: false}
	case d == 0:
		return net.KeepAliveConfig{Enable: true}
	}
	return net.KeepAliveConfig{Enable: true, Idle: d, Interval: d}
}

// parseListen checks the network against want and parses the address, and
// returns an opError that wraps later errors with the right Op, Net and Addr.
func parseListen(ctx context.Context, network, address, want string) (netip.AddrPort, func(error) error, error) {
	var addr net.Addr
	opError := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	proto, err := transport(network)
	if err != nil {
		return netip.AddrPort{}, nil, opError(err)
	}
	if proto != want {
		return netip.AddrPort{}, nil, opError(net.UnknownNetworkError(network))
	}
	ap, err := parseHostPort(address)
	if err != nil {
		return netip.AddrPort{}, nil, opError(err)
	}
	addr = hostAddr(proto, ap)
	if err := ctx.Err(); err != nil {
		return netip.AddrPort{}, nil, opError(err)
	}
	return ap, opError, nil
}

func (s *Stack) listenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	ap, opError, err := parseListen(ctx, network, address, "udp")
	if err != nil {
		return nil, err
	}
	c, err := netconn.OpenUDP(s.d, network, ap, netip.AddrPort{})
	if err != nil {
		return nil, opError(err)
	}
	return c, nil
}
