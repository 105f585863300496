package netconn

import (
	"errors"
	"io"
	"net"
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
type TCPConn struct {
	d            *Driver
	c            *stack.TCPConn
	network      string
	laddr, raddr net.Addr // *net.TCPAddr

	readable chan struct{}
	writable chan struct{}
	rdl, wdl *deadline

	rsem sema
	wsem sema

	readClosed atomic.Bool  // CloseRead was called
	linger     atomic.Int64 // SetLinger's seconds; < 0 = default (graceful)

	// ka is the keepalive setting, guarded by the driver lock.
	ka tcpKeepAlive

	closeOnce sync.Once
	closed    chan struct{}
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
		d:        d,
		c:        c,
		network:  network,
		laddr:    net.TCPAddrFromAddrPort(c.LocalAddr()),
		raddr:    net.TCPAddrFromAddrPort(c.RemoteAddr()),
		readable: make(chan struct{}, 1),
		writable: make(chan struct{}, 1),
		rdl:      newDeadline(),
		wdl:      newDeadline(),
		rsem:     newSema(),
		wsem:     newSema(),
		closed:   make(chan struct{}),
	}
	tc.linger.Store(-1)
	c.SetWakers(notifier(tc.readable), notifier(tc.writable))
	// Package net turns Nagle off on every TCP connection (TCP_NODELAY):
	// request/response protocols would otherwise meet delayed ACKs.
	c.SetNoDelay(true)
	return tc
}

// Read reads received bytes. It returns a bare io.EOF after the peer's FIN
// once everything was read.
func (c *TCPConn) Read(b []byte) (int, error) {
	if !c.rsem.acquire(c.closed, c.d.Done(), c.rdl.wait()) {
		return 0, c.opError("read", c.waitError())
	}
	defer c.rsem.release()
	for {
		if c.isClosed() || isClosed(c.d.Done()) {
			return 0, c.opError("read", net.ErrClosed)
		}
		if c.rdl.expired() {
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
		awaitEvent(c.readable, c.rdl, c.closed, c.d)
	}
}

// Write sends all of b, waiting for room in the send buffer as needed. On
// a deadline or error it returns how much was queued.
func (c *TCPConn) Write(b []byte) (int, error) {
	if !c.wsem.acquire(c.closed, c.d.Done(), c.wdl.wait()) {
		return 0, c.opError("write", c.waitError())
	}
	defer c.wsem.release()
	total := 0
	for {
		if c.isClosed() || isClosed(c.d.Done()) {
			return total, c.opError("write", net.ErrClosed)
		}
		if c.wdl.expired() {
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
		awaitEvent(c.writable, c.wdl, c.closed, c.d)
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
		close(c.closed)
		c.rdl.stop()
		c.wdl.stop()
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
	notifier(c.readable)()
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
	c.linger.Store(int64(sec))
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
func (c *TCPConn) LocalAddr() net.Addr  { return c.laddr }
func (c *TCPConn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets both deadlines; a change wakes blocked calls.
func (c *TCPConn) SetDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; a change wakes a blocked Read.
func (c *TCPConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline; a change wakes a blocked Write.
func (c *TCPConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opError("set", net.ErrClosed)
	}
	c.wdl.set(t)
	return nil
}

func (c *TCPConn) isClosed() bool { return isClosed(c.closed) }

// waitError says why a wait for a turn ended: closed, or deadline.
func (c *TCPConn) waitError() error {
	if c.isClosed() || isClosed(c.d.Done()) {
		return net.ErrClosed
	}
	return os.ErrDeadlineExceeded
}

// opError builds the error package net would return (DESIGN.md §4).
func (c *TCPConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.network, Source: c.laddr, Addr: c.raddr, Err: err}
}
