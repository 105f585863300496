package netconn

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/microtcp/microtcp/core/stack"
)

// DefaultBacklog is the accept queue of a listener opened with backlog 0,
// Linux's SOMAXCONN.
const DefaultBacklog = 4096

// Listener is a TCP listener (net.Listener, shaped like *net.TCPListener).
// Accept waits on the listener's waker; Close unblocks it with an error
// wrapping net.ErrClosed, which is never temporary, so http.Serve returns.
type Listener struct {
	d       *Driver
	l       *stack.TCPListener
	network string
	addr    net.Addr // *net.TCPAddr

	// keepAlive is applied to every accepted connection.
	keepAlive net.KeepAliveConfig

	ready chan struct{}
	dl    *deadline
	asem  sema

	closeOnce sync.Once
	closed    chan struct{}
}

var _ net.Listener = (*Listener)(nil)

// ListenTCP opens a listener on local (port 0 picks an ephemeral port, an
// unspecified address listens on every address of the stack). backlog 0
// means DefaultBacklog; keepAlive applies to accepted connections. Errors
// are the core's, unwrapped: the caller builds the *net.OpError.
func ListenTCP(d *Driver, network string, local netip.AddrPort, backlog int, keepAlive net.KeepAliveConfig) (*Listener, error) {
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	ln := &Listener{
		d:         d,
		network:   network,
		keepAlive: keepAlive,
		ready:     make(chan struct{}, 1),
		dl:        newDeadline(),
		asem:      newSema(),
		closed:    make(chan struct{}),
	}
	err := d.Do(func(st *stack.Stack, _ time.Time) error {
		l, err := st.ListenTCP(local, backlog)
		if err != nil {
			return err
		}
		l.SetWaker(notifier(ln.ready))
		ln.l = l
		ln.addr = net.TCPAddrFromAddrPort(l.Addr())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// Accept waits for the next connection and returns it as a *TCPConn.
func (ln *Listener) Accept() (net.Conn, error) {
	c, err := ln.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptTCP is Accept returning the concrete type.
func (ln *Listener) AcceptTCP() (*TCPConn, error) {
	if !ln.asem.acquire(ln.closed, ln.d.Done(), ln.dl.wait()) {
		return nil, ln.opError(ln.waitError())
	}
	defer ln.asem.release()
	for {
		if ln.isClosed() || isClosed(ln.d.Done()) {
			return nil, ln.opError(net.ErrClosed)
		}
		if ln.dl.expired() {
			return nil, ln.opError(os.ErrDeadlineExceeded)
		}
		_, now, err := ln.d.lock()
		if err != nil {
			return nil, ln.opError(err)
		}
		var tc *TCPConn
		if c, ok := ln.l.Accept(); ok {
			// Wakers are set under the same lock that accepted: nothing
			// that arrives from now on is missed.
			tc = newTCPConn(ln.d, ln.network, c)
			tc.ka = keepAliveOf(ln.keepAlive)
			if tc.ka.on {
				c.SetKeepAlive(now, true, tc.ka.idle, tc.ka.interval, tc.ka.count)
			}
		}
		ln.d.unlock()
		if tc != nil {
			return tc, nil
		}
		awaitEvent(ln.ready, ln.dl, ln.closed, ln.d)
	}
}

// Close stops listening: connections not yet accepted are reset and a
// blocked Accept returns an error wrapping net.ErrClosed. A second Close
// returns such an error too.
func (ln *Listener) Close() error {
	first := false
	ln.closeOnce.Do(func() {
		first = true
		close(ln.closed)
		ln.dl.stop()
		_ = ln.d.Do(func(_ *stack.Stack, now time.Time) error {
			ln.l.SetWaker(nil)
			ln.l.Close(now)
			return nil
		})
	})
	if !first {
		return ln.opError(net.ErrClosed)
	}
	return nil
}

// Addr returns the bound address as a *net.TCPAddr; with port 0 asked for,
// it holds the port picked.
func (ln *Listener) Addr() net.Addr { return ln.addr }

// SetDeadline sets the deadline for Accept, as *net.TCPListener does: zero
// means none; a change wakes a blocked Accept.
func (ln *Listener) SetDeadline(t time.Time) error {
	if ln.isClosed() {
		return ln.opError(net.ErrClosed)
	}
	ln.dl.set(t)
	return nil
}

func (ln *Listener) isClosed() bool { return isClosed(ln.closed) }

func (ln *Listener) waitError() error {
	if ln.isClosed() || isClosed(ln.d.Done()) {
		return net.ErrClosed
	}
	return os.ErrDeadlineExceeded
}

func (ln *Listener) opError(err error) error {
	return &net.OpError{Op: "accept", Net: ln.network, Addr: ln.addr, Err: err}
}

// keepAliveOf turns a net.KeepAliveConfig into the engine's parameters;
// Enable false switches keepalive off, zero fields take package net's
// defaults.
func keepAliveOf(cfg net.KeepAliveConfig) tcpKeepAlive {
	ka := tcpKeepAlive{on: cfg.Enable, idle: cfg.Idle, interval: cfg.Interval, count: cfg.Count}
	if ka.idle <= 0 {
		ka.idle = DefaultKeepAliveIdle
	}
	if ka.interval <= 0 {
		ka.interval = DefaultKeepAliveInterval
	}
	if ka.count <= 0 {
		ka.count = DefaultKeepAliveCount
	}
	return ka
}
