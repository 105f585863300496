package main

import (
	"context"
	"fmt"
	"net"
	"time"
)

// setup is one pair with its listener open.
type setup struct {
	p    pair
	ln   net.Listener
	addr string
}

func openSetup(stack string, o linkOpts) (*setup, error) {
	p, err := newPair(stack, o)
	if err != nil {
		return nil, err
	}
	ln, err := p.Listen()
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	return &setup{p: p, ln: ln, addr: ln.Addr().String()}, nil
}

func (s *setup) Close() {
	s.ln.Close()
	s.p.Close()
	printSummary(s.p)
}

// connect dials one connection and accepts its server side. Both get the
// context's deadline, so a stalled transfer ends in a timeout, not a hang.
func (s *setup) connect(ctx context.Context) (client, server net.Conn, err error) {
	client, server, err = s.connectBare(ctx)
	if err == nil {
		applyDeadline(ctx, client)
		applyDeadline(ctx, server)
	}
	return client, server, err
}

// connectBare is connect without deadlines on the connections, for runs
// that measure what a connection costs (a deadline is a timer).
func (s *setup) connectBare(ctx context.Context) (client, server net.Conn, err error) {
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := s.ln.Accept()
		ch <- accepted{c, err}
	}()
	client, err = s.p.Dial(ctx, s.addr)
	if err != nil {
		s.ln.Close() // unblocks the Accept above
		<-ch
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	a := <-ch
	if a.err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("accept: %w", a.err)
	}
	return client, a.c, nil
}

func applyDeadline(ctx context.Context, c net.Conn) {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
}

// mbits converts bytes moved in d to Mbit/s.
func mbits(n int64, d time.Duration) float64 {
	return float64(n) * 8 / d.Seconds() / 1e6
}
