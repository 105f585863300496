package main

import (
	"context"
	"fmt"
	"net"
	"time"
)

// linkOpts is the link model a scenario asks for. The two userspace stacks
// get the same one; the kernel's loopback ignores it.
type linkOpts struct {
	MTU   int           // IP MTU in bytes
	Loss  float64       // probability a frame is dropped, per direction
	Delay time.Duration // one-way delay added to every frame
	Seed  int64         // seeds the loss of both directions
}

// pair is a server side and a client side that reach each other.
type pair interface {
	// Listen opens the one listener of the server side.
	Listen() (net.Listener, error)
	// Dial connects the client side to addr (a listener's Addr().String()).
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// Close tears both sides down.
	Close() error
}

// stackNames are the stacks -stacks accepts; the default is the first three.
// gvisor-nocopy is gVisor with frames handed to the peer by reference, the
// reference of the MTU 65520 target.
var stackNames = []string{"microtcp", "gvisor", "kernel", "gvisor-nocopy"}

var defaultStacks = stackNames[:3]

func newPair(stack string, o linkOpts) (pair, error) {
	switch stack {
	case "microtcp":
		return newMicroPair(o)
	case "gvisor":
		return newGvisorPair(o, false)
	case "gvisor-nocopy":
		return newGvisorPair(o, true)
	case "kernel":
		if o.Loss != 0 || o.Delay != 0 {
			return nil, errNotApplicable
		}
		return kernelPair{}, nil
	}
	return nil, fmt.Errorf("unknown stack %q", stack)
}

// errNotApplicable marks a scenario a stack cannot run (the kernel's
// loopback has no loss or delay without root and netem).
var errNotApplicable = fmt.Errorf("not applicable")

type kernelPair struct{}

// Keep-alive is off on every stack: gonet has none, and an idle probe would
// only add noise.
func (kernelPair) Listen() (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
}

func (kernelPair) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1}
	return d.DialContext(ctx, "tcp4", addr)
}

func (kernelPair) Close() error { return nil }
