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

// errTCPNotImplemented is returned by every TCP entry point until the TCP
// engine lands; errors.Is(err, errors.ErrUnsupported) holds.
var errTCPNotImplemented = fmt.Errorf("microtcp: TCP is not implemented yet: %w", errors.ErrUnsupported)

// ListenConfig holds options for listening, like net.ListenConfig.
type ListenConfig struct {
	Stack     *Stack        // required
	KeepAlive time.Duration // TCP keep-alive period for accepted connections (TCP: not yet)
	Backlog   int           // pending connections per listener (TCP: not yet)
}

// Listen announces on the stack. Only "tcp"/"tcp4" are stream networks,
// and TCP is not implemented yet.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if lc == nil || lc.Stack == nil {
		return nil, errors.New("microtcp: ListenConfig.Stack is nil")
	}
	return lc.Stack.listen(ctx, network, address)
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
	return s.listen(context.Background(), network, address)
}

// ListenPacket is ListenConfig{Stack: s}.ListenPacket with a background
// context.
func (s *Stack) ListenPacket(network, address string) (net.PacketConn, error) {
	return s.listenPacket(context.Background(), network, address)
}

func (s *Stack) listen(ctx context.Context, network, address string) (net.Listener, error) {
	_, opError, err := parseListen(ctx, network, address, "tcp")
	if err != nil {
		return nil, err
	}
	return nil, opError(errTCPNotImplemented)
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
