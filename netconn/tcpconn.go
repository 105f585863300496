package netconn

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microtcp/microtcp/core/stack"
)

// Keepalive defaults, as package net's (net.KeepAliveConfig): probes after
// 15 s idle, every 15 s, 9 of them.
const (
	DefaultKeepAliveIdle     = 15 * time.Second
	DefaultKeepAliveInterval = 15 * time.Second
	DefaultKeepAliveCount    = 9
)

// TCPConn is a TCP connection. It implements net.Conn and the methods
// people reach for on *net.TCPConn.
//
// Like PacketConn it starts no goroutine: wakers post tokens on 1-slot
// channels, a blocked Read or Write waits in a select on its token, its
// deadline and close, and one sema per direction serialises callers.
// Those channels and deadlines live in a tcpWait made on first use, so an
// idle connection holds none of them (issue #6: idle memory).
type TCPConn struct {
	d       *Driver
	c       *stack.TCPConn
	network string

	w            atomic.Pointer[tcpWait]
	laddr, raddr atomic.Pointer[net.TCPAddr] // made on first use

	readClosed atomic.Bool  // CloseRead was called
	linger     atomic.Int32 // SetLinger's seconds; < 0 = default (graceful)

	// ka is the keepalive setting, guarded by the driver lock.
	ka tcpKeepAlive

	closeOnce sync.Once
}

// tcpWait is what callers of a TCPConn wait on: readiness tokens posted
// by the wakers, deadlines, the semas that serialise each direction, and
// closed, which Close closes.
type tcpWait struct {
	readable chan struct{}
	writable chan struct{}
	rdl, wdl *deadline
	rsem     sema
	wsem     sema
	closed   chan struct{}
}

// wait returns the connection's tcpWait, making it on first use. Wakers
// that fired before it existed are not lost: every caller asks the core
// under the driver lock after calling wait and before waiting.
func (c *TCPConn) wait() *tcpWait {
	if w := c.w.Load(); w != nil {
		return w
	}
	w := &tcpWait{closed: make(chan struct{})}
	w.readable, w.writable = make(chan struct{}, 1), make(chan struct{}, 1)
	w.rdl, w.wdl = newDeadline(), newDeadline()
	w.rsem, w.wsem = newSema(), newSema()
	if c.w.CompareAndSwap(nil, w) {
		return w
	}
	return c.w.Load()
}

// dropWait forgets the tcpWait the dial waited on, so an established
// connection nobody uses holds none. Only DialTCP calls it, before it
// hands the connection out: nobody else can be waiting on it yet.
func (c *TCPConn) dropWait() { c.w.Store(nil) }

// wakeReadable and wakeWritable are the core's wakers: they post a token
// when someone may be waiting, and do nothing before anyone could be.
func (c *TCPConn) wakeReadable() {
	if w := c.w.Load(); w != nil {
		notifier(w.readable)()
	}
}

func (c *TCPConn) wakeWritable() {
	if w := c.w.Load(); w != nil {
		notifier(w.writable)()
	}
}

type tcpKeepAlive struct {
	on             bool
	idle, interval time.Duration // zero = the stack's configured value
	count          int
}

var _ net.Conn = (*TCPConn)(nil)

// newTCPConn wraps c and registers its wakers. The caller holds the driver
// lock, so no readiness change is missed between Accept/Connect and here.
func newTCPConn(d *Driver, network string, c *stack.TCPConn) *TCPConn {
	tc := &TCPConn{
		d:       d,
		c:       c,
		network: network,
	}
	tc.linger.Store(-1)
	c.SetWakers(tc.wakeReadable, tc.wakeWritable)
	// Package net turns Nagle off on every TCP connection (TCP_NODELAY):
	// request/response protocols would otherwise meet delayed ACKs.
	c.SetNoDelay(true)
	return tc
}

// Read reads received bytes. It returns a bare io.EOF after the peer's FIN
// once everything was read.
func (c *TCPConn) Read(b []byte) (int, error) {
	w := c.wait()
	if !w.rsem.acquire(w.closed, c.d.Done(), w.rdl.wait()) {
		return 0, c.opError("read", c.waitError())
	}
	defer w.rsem.release()
	for {
		if c.isClosed() || isClosed(c.d.Done()) {
			return 0, c.opError("read", net.ErrClosed)
		}
		if w.rdl.expired() {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		if c.readClosed.Load() {
			return 0, io.EOF
		}
		if len(b) == 0 {
			return 0, nil
		}
		_, now, err := c.d.lock()
		if err != nil {
			return 0, c.opError("read", err)
		}
		n, err := c.c.Read(now, b)
		c.d.unlock()
		switch {
		case n > 0:
			return n, nil
		case err == io.EOF:
			return 0, io.EOF
		case err != nil:
			return 0, c.opError("read", err)
		}
		awaitEvent(w.readable, w.rdl, w.closed, c.d)
	}
}

// Write sends all of b, waiting for room in the send buffer as needed. On
// a deadline or error it returns how much was queued.
func (c *TCPConn) Write(b []byte) (int, error) {
	w := c.wait()
	if !w.wsem.acquire(w.closed, c.d.Done(), w.wdl.wait()) {
		return 0, c.opError("write", c.waitError())
	}
	defer w.wsem.release()
	total := 0
	for {
		if c.isClosed() || isClosed(c.d.Done()) {
			return total, c.opError("write", net.ErrClosed)
		}
		if w.wdl.expired() {
			return total, c.opError("write", os.ErrDeadlineExceeded)
		}
		_, now, err := c.d.lock()
		if err != nil {
			return total, c.opError("write", err)
		}
		n, err := c.c.Write(now, b[total:])
		c.d.unlock()
		total += n
		if err != nil {
			return total, c.opError("write", err)
		}
		if total == len(b) {
			return total, nil
		}
		if n > 0 {
			continue // the buffer may have drained while we copied
		}
		parkEvent(w.writable, w.wdl, w.closed, c.d)
	}
}

// Close closes the connection and returns at once. Queued data and then a
// FIN still go out, finished by the stack's timers; a RST goes instead when
// received data was never read (RFC 1122 4.2.2.13) or after SetLinger(0).
// Blocked calls return an error wrapping net.ErrClosed.
func (c *TCPConn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		w := c.wait()
		close(w.closed)
		w.rdl.stop()
		w.wdl.stop()
		// After Stack.Close the core already aborted the connection.
		_ = c.d.Do(func(_ *stack.Stack, now time.Time) error {
			c.c.SetWakers(nil, nil)
			if c.linger.Load() == 0 {
				// SO_LINGER with a zero timeout: abort (RFC 9293 §3.10.5).
				c.c.Abort(now)
				return nil
			}
			return c.c.Close(now)
		})
	})
	if !first {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

// CloseWrite sends a FIN after the queued data; reading goes on (RFC 9293
// §3.10.4, shutdown(SHUT_WR)).
func (c *TCPConn) CloseWrite() error {
	if c.isClosed() {
		return c.opError("close", net.ErrClosed)
	}
	err := c.d.Do(func(_ *stack.Stack, now time.Time) error { return c.c.CloseWrite(now) })
	if err != nil {
		return c.opError("close", err)
	}
	return nil
}

// CloseRead makes later Reads return io.EOF (shutdown(SHUT_RD)). Data that
// still arrives is not discarded: closing with it unread sends a RST, as
// Linux does.
func (c *TCPConn) CloseRead() error {
	if c.isClosed() {
		return c.opError("close", net.ErrClosed)
	}
	c.readClosed.Store(true)
	c.wakeReadable()
	return nil
}

// SetNoDelay controls Nagle's algorithm (RFC 896); on by default, as in
// package net, noDelay is true.
func (c *TCPConn) SetNoDelay(noDelay bool) error {
	return c.setOption(func() { c.c.SetNoDelay(noDelay) })
}

// SetKeepAlive turns keepalive probes (RFC 1122 4.2.3.6) on or off.
func (c *TCPConn) SetKeepAlive(keepalive bool) error {
	return c.setKeepAlive(func(ka *tcpKeepAlive) { ka.on = keepalive })
}

// SetKeepAlivePeriod sets the idle time before the first probe and the
// interval between probes, as package net does.
func (c *TCPConn) SetKeepAlivePeriod(d time.Duration) error {
	return c.setKeepAlive(func(ka *tcpKeepAlive) {
		if d > 0 {
			ka.idle, ka.interval = d, d
		}
	})
}

// SetKeepAliveConfig is *net.TCPConn's: Enable, and Idle, Interval and
// Count where positive (zero = the default, negative = unchanged).
func (c *TCPConn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	return c.setKeepAlive(func(ka *tcpKeepAlive) {
		ka.on = config.Enable
		switch {
		case config.Idle > 0:
			ka.idle = config.Idle
		case config.Idle == 0:
			ka.idle = DefaultKeepAliveIdle
		}
		switch {
		case config.Interval > 0:
			ka.interval = config.Interval
		case config.Interval == 0:
			ka.interval = DefaultKeepAliveInterval
		}
		switch {
		case config.Count > 0:
			ka.count = config.Count
		case config.Count == 0:
			ka.count = DefaultKeepAliveCount
		}
	})
}

func (c *TCPConn) setKeepAlive(change func(*tcpKeepAlive)) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	err := c.d.Do(func(_ *stack.Stack, now time.Time) error {
		change(&c.ka)
		c.c.SetKeepAlive(now, c.ka.on, c.ka.idle, c.ka.interval, c.ka.count)
		return nil
	})
	if err != nil {
		return c.opError("set", err)
	}
	return nil
}

// SetLinger sets what Close does with unsent data: sec < 0 (the default)
// and sec > 0 send it and then a FIN in the background; sec == 0 discards
// it and resets the connection.
func (c *TCPConn) SetLinger(sec int) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	c.linger.Store(int32(min(max(sec, -1), 1<<30))) // only 0 and < 0 matter
	return nil
}

// SetReadBuffer and SetWriteBuffer are accepted for compatibility with
// *net.TCPConn; the buffers are sized per stack (Config.TCPReceiveBuffer,
// TCPSendBuffer) and the receive buffer grows by itself.
func (c *TCPConn) SetReadBuffer(bytes int) error  { return c.checkBuffer(bytes) }
func (c *TCPConn) SetWriteBuffer(bytes int) error { return c.checkBuffer(bytes) }

func (c *TCPConn) checkBuffer(bytes int) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	if bytes < 0 {
		return c.opError("set", errors.New("negative buffer size"))
	}
	return nil
}

func (c *TCPConn) setOption(fn func()) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	err := c.d.Do(func(*stack.Stack, time.Time) error { fn(); return nil })
	if err != nil {
		return c.opError("set", err)
	}
	return nil
}

// LocalAddr and RemoteAddr return *net.TCPAddr values.
func (c *TCPConn) LocalAddr() net.Addr  { return c.addr(&c.laddr, c.c.LocalAddr) }
func (c *TCPConn) RemoteAddr() net.Addr { return c.addr(&c.raddr, c.c.RemoteAddr) }

// addr returns the *net.TCPAddr cached in p, made from get on first use;
// every call returns the same pointer. The engine's addresses never
// change, so get needs no lock.
func (c *TCPConn) addr(p *atomic.Pointer[net.TCPAddr], get func() netip.AddrPort) *net.TCPAddr {
	if a := p.Load(); a != nil {
		return a
	}
	p.CompareAndSwap(nil, net.TCPAddrFromAddrPort(get()))
	return p.Load()
}

// SetDeadline sets both deadlines; a change wakes blocked calls.
func (c *TCPConn) SetDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	w := c.wait()
	w.rdl.set(t)
	w.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; a change wakes a blocked Read.
func (c *TCPConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	c.wait().rdl.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline; a change wakes a blocked Write.
func (c *TCPConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	c.wait().wdl.set(t)
	return nil
}

// isClosed reports whether Close was called; a connection that never
// made its tcpWait was not closed, as Close makes it.
func (c *TCPConn) isClosed() bool {
	w := c.w.Load()
	return w != nil && isClosed(w.closed)
}

// waitError says why a wait for a turn ended: closed, or deadline.
func (c *TCPConn) waitError() error {
	if c.isClosed() || isClosed(c.d.Done()) {
		return net.ErrClosed
	}
	return os.ErrDeadlineExceeded
}

// opError builds the error package net would return (DESIGN.md §4).
func (c *TCPConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.network, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
