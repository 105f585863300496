package netconn

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/microtcp/microtcp/core/stack"
)

// Echo is a blocking ICMP echo ("ping") socket over stack.EchoSocket. Its
// methods may be called from several goroutines, but sends are serialised
// and so are receives, like PacketConn's.
type Echo struct {
	d    *Driver
	sock *stack.EchoSocket

	readable chan struct{}
	writable chan struct{}
	rsem     sema
	wsem     sema

	closeOnce sync.Once
	closed    chan struct{}
}

// OpenEcho opens an echo socket with a free identifier.
func OpenEcho(d *Driver) (*Echo, error) {
	e := &Echo{
		d:        d,
		readable: make(chan struct{}, 1),
		writable: make(chan struct{}, 1),
		rsem:     newSema(),
		wsem:     newSema(),
		closed:   make(chan struct{}),
	}
	err := d.Do(func(st *stack.Stack, _ time.Time) error {
		sock, err := st.OpenEcho()
		if err != nil {
			return err
		}
		sock.SetWakers(notifier(e.readable), notifier(e.writable))
		e.sock = sock
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Send sends one echo request and, when the next hop is being resolved,
// waits until ARP answers (nil) or gives up (syscall.EHOSTUNREACH). It
// returns ctx.Err() if ctx ends first and net.ErrClosed after Close.
func (e *Echo) Send(ctx context.Context, dst netip.Addr, seq uint16, payload []byte) error {
	if !e.wsem.acquire(e.closed, e.d.Done(), ctx.Done()) {
		return e.check(ctx)
	}
	defer e.wsem.release()
	if err := e.check(ctx); err != nil {
		return err
	}
	_, now, err := e.d.lock()
	if err != nil {
		return err
	}
	err = e.sock.Send(now, dst, seq, payload)
	e.d.unlock()
	if !errors.Is(err, stack.ErrResolving) {
		return err
	}
	for {
		_, _, err := e.d.lock()
		if err != nil {
			return err
		}
		resolving := e.sock.Resolving()
		var result error
		if !resolving {
			result = e.sock.SendResult()
		}
		e.d.unlock()
		if !resolving {
			return result
		}
		if err := e.check(ctx); err != nil {
			return err
		}
		select {
		case <-e.writable:
		case <-ctx.Done():
		case <-e.closed:
		case <-e.d.Done():
		}
	}
}

// Recv waits for the next echo reply addressed to this socket and returns
// its source, sequence number and payload length.
func (e *Echo) Recv(ctx context.Context) (from netip.Addr, seq uint16, n int, err error) {
	if !e.rsem.acquire(e.closed, e.d.Done(), ctx.Done()) {
		return netip.Addr{}, 0, 0, e.check(ctx)
	}
	defer e.rsem.release()
	for {
		if err := e.check(ctx); err != nil {
			return netip.Addr{}, 0, 0, err
		}
		if _, _, err := e.d.lock(); err != nil {
			return netip.Addr{}, 0, 0, err
		}
		from, seq, n, ok := e.sock.Recv()
		e.d.unlock()
		if ok {
			return from, seq, n, nil
		}
		select {
		case <-e.readable:
		case <-ctx.Done():
		case <-e.closed:
		case <-e.d.Done():
		}
	}
}

func (e *Echo) check(ctx context.Context) error {
	if isClosed(e.closed) || isClosed(e.d.Done()) {
		return net.ErrClosed
	}
	return ctx.Err()
}

// Close releases the identifier; blocked calls return net.ErrClosed.
func (e *Echo) Close() error {
	e.closeOnce.Do(func() {
		close(e.closed)
		_ = e.d.Do(func(*stack.Stack, time.Time) error {
			e.sock.Close()
			return nil
		})
	})
	return nil
}
