package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"
)

// dialFunc opens the upstream connection; microtcp.Dialer.DialContext in
// the program, a kernel dialer in unit tests.
type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// dialTimeout bounds the handshake through the edge stack.
const dialTimeout = 10 * time.Second

// forwarder accepts kernel connections and relays each one, byte for byte,
// to target through dial. It never looks at the bytes, so HTTP, HTTPS and
// echo all pass unchanged.
type forwarder struct {
	ln      net.Listener
	dial    dialFunc
	target  string
	log     *log.Logger
	verbose bool

	conns tracker
	stop  context.Context // cancelled by close, aborts pending dials
	abort context.CancelFunc
	done  chan struct{} // closed when serve returns
	once  sync.Once
}

func newForwarder(ln net.Listener, dial dialFunc, target string, logger *log.Logger, verbose bool) *forwarder {
	stop, abort := context.WithCancel(context.Background())
	return &forwarder{ln: ln, dial: dial, target: target, log: logger, verbose: verbose,
		stop: stop, abort: abort, done: make(chan struct{})}
}

// serve accepts until the listener is closed, which returns nil; any other
// Accept error is returned.
func (f *forwarder) serve() error {
	defer close(f.done)
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("forwarder on %v: %w", f.ln.Addr(), err)
		}
		if !f.conns.add(c) {
			continue
		}
		go f.relay(c)
	}
}

// close stops accepting, aborts every relayed connection and waits until
// all of the forwarder's goroutines have returned. serve must be running
// or have returned.
func (f *forwarder) close() {
	f.once.Do(func() {
		f.ln.Close()
		<-f.done
		f.abort()
		f.conns.closeAll()
	})
}

func (f *forwarder) relay(client net.Conn) {
	defer f.conns.done(client)
	ctx, cancel := context.WithTimeout(f.stop, dialTimeout)
	upstream, err := f.dial(ctx, "tcp", f.target)
	cancel()
	if err != nil {
		f.log.Printf("forwarder: %v: %v", client.RemoteAddr(), err)
		return
	}
	// Registered with the tracker too, so that close aborts both ends.
	if !f.conns.add(upstream) {
		return
	}
	defer f.conns.done(upstream)
	if f.verbose {
		f.log.Printf("forwarder: %v -> %v (%v) -> %v", client.RemoteAddr(), f.ln.Addr(), upstream.LocalAddr(), upstream.RemoteAddr())
	}
	if err := splice(client, upstream); err != nil && f.verbose {
		f.log.Printf("forwarder: %v: %v", client.RemoteAddr(), err)
	}
}

// splice copies a→b and b→a until both directions have ended. A clean end
// of one direction (EOF) is passed on as a half-close (CloseWrite), so the
// other direction keeps flowing: an HTTP client may finish sending long
// before the response ends. An error in either direction aborts both.
func splice(a, b net.Conn) error {
	errs := make(chan error, 2)
	go func() { errs <- copyHalf(b, a) }()
	go func() { errs <- copyHalf(a, b) }()
	var first error
	for range 2 {
		if err := <-errs; err != nil && first == nil {
			first = err
			// Unblock the other direction: its Read or Write fails now.
			a.Close()
			b.Close()
		}
	}
	return first
}

// copyHalf copies src to dst until src's EOF, then half-closes dst.
func copyHalf(dst, src net.Conn) error {
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	return closeWrite(dst)
}

// closeWrite sends FIN on c but keeps reading, like shutdown(SHUT_WR).
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	// Without half-close the only way to signal the end is to close.
	return c.Close()
}
