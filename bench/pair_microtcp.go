package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/link"
)

// microPair is two microtcp stacks on the two ends of one link.Pipe, which
// copies each frame once per hop.
type microPair struct {
	client, server *microtcp.Stack
	pa, pb         *link.PipeEnd
	fa, fb         *link.Faulty // nil without loss or delay
}

func newMicroPair(o linkOpts) (*microPair, error) {
	pa, pb := link.NewPipe(link.PipeConfig{})
	p := &microPair{pa: pa, pb: pb}
	var la, lb microtcp.Link = pa, pb
	if o.Loss != 0 || o.Delay != 0 {
		p.fa = link.NewFaulty(pa, link.FaultConfig{Seed: o.Seed, Loss: o.Loss, Delay: o.Delay})
		p.fb = link.NewFaulty(pb, link.FaultConfig{Seed: o.Seed + 1, Loss: o.Loss, Delay: o.Delay})
		la, lb = p.fa, p.fb
	}
	c, err := microtcp.NewStack(la, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), MTU: o.MTU, LinkType: microtcp.LinkEthernet})
	if err != nil {
		return nil, fmt.Errorf("client stack: %w", err)
	}
	s, err := microtcp.NewStack(lb, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.2/24"), MTU: o.MTU, LinkType: microtcp.LinkEthernet})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("server stack: %w", err)
	}
	p.client, p.server = c, s
	return p, nil
}

func (p *microPair) Listen() (net.Listener, error) {
	lc := microtcp.ListenConfig{Stack: p.server, KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp4", "10.0.0.2:5001")
}

func (p *microPair) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := microtcp.Dialer{Stack: p.client, KeepAlive: -1}
	return d.DialContext(ctx, "tcp4", addr)
}

func (p *microPair) Close() error {
	err1 := p.client.Close()
	err2 := p.server.Close()
	if err1 != nil {
		return err1
	}
	return err2
}
