package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

const gvisorNIC tcpip.NICID = 1

// gvisorQueueLen matches link.Pipe's default queue of frames per direction.
const gvisorQueueLen = 1024

// gvisorPair is two gVisor netstacks whose Ethernet NICs sit on channel
// endpoints; one goroutine per direction copies each outbound frame into a
// fresh buffer (one copy per hop, as link.Pipe does) and injects it into the
// peer, applying the same seeded loss and delay model as link.Faulty.
type gvisorPair struct {
	client, server *stack.Stack
	chans          [2]*channel.Endpoint
	wires          [2]*gvisorWire
	txPackets      [2]uint64 // what each NIC sent, taken at Close for -v
	cancel         context.CancelFunc
	wg             sync.WaitGroup
}

func newGvisorStack(ch *channel.Endpoint, addr netip.Prefix) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	// Configured the way its embedders (Tailscale, wireguard-go, gvisor-tap-vsock)
	// run it: SACK, receive buffer moderation, 1 MiB default buffers growing to
	// several MiB.
	opts := []tcpip.SettableTransportProtocolOption{
		new(tcpip.TCPSACKEnabled),
		new(tcpip.TCPModerateReceiveBufferOption),
		&tcpip.TCPSendBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: 1 << 20, Max: 6 << 20},
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: 1 << 20, Max: 8 << 20},
	}
	*opts[0].(*tcpip.TCPSACKEnabled) = true
	*opts[1].(*tcpip.TCPModerateReceiveBufferOption) = true
	for _, o := range opts {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, o); err != nil {
			return nil, fmt.Errorf("gvisor option %T: %v", o, err)
		}
	}
	if err := s.CreateNIC(gvisorNIC, ethernet.New(ch)); err != nil {
		return nil, fmt.Errorf("gvisor CreateNIC: %v", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr.Addr().As4()), PrefixLen: addr.Bits()},
	}
	if err := s.AddProtocolAddress(gvisorNIC, pa, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("gvisor AddProtocolAddress: %v", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: gvisorNIC}})
	return s, nil
}

// newGvisorPair builds the pair; noCopy hands each packet's buffers to the
// peer by reference instead of copying them (the "no-copy" figure).
func newGvisorPair(o linkOpts, noCopy bool) (*gvisorPair, error) {
	// The channel's MTU counts the Ethernet header that ethernet.Endpoint strips.
	mtu := uint32(o.MTU + header.EthernetMinimumSize)
	p := &gvisorPair{}
	p.chans[0] = channel.New(gvisorQueueLen, mtu, tcpip.LinkAddress("\x02\x00\x00\x00\x00\x01"))
	p.chans[1] = channel.New(gvisorQueueLen, mtu, tcpip.LinkAddress("\x02\x00\x00\x00\x00\x02"))
	var err error
	if p.client, err = newGvisorStack(p.chans[0], netip.MustParsePrefix("10.0.0.1/24")); err != nil {
		return nil, err
	}
	if p.server, err = newGvisorStack(p.chans[1], netip.MustParsePrefix("10.0.0.2/24")); err != nil {
		p.client.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for i := range 2 {
		w := &gvisorWire{
			from: p.chans[i], to: p.chans[1-i], o: o, noCopy: noCopy,
			rng: rand.New(rand.NewPCG(uint64(o.Seed)+uint64(i), 0x5eed)),
		}
		p.wires[i] = w
		p.wg.Add(1)
		go func() { defer p.wg.Done(); w.run(ctx) }()
	}
	return p, nil
}

// gvisorWire carries one direction.
type gvisorWire struct {
	from, to *channel.Endpoint
	o        linkOpts
	rng      *rand.Rand
	noCopy   bool
	dropped  atomic.Uint64 // by the loss model or a full delay queue
	carried  atomic.Uint64 // packets read from the sender's queue
}

type delayedFrame struct {
	due time.Time
	b   buffer.Buffer
}

func (w *gvisorWire) run(ctx context.Context) {
	var delayed chan delayedFrame
	if w.o.Delay > 0 {
		// Frames waiting out the delay are in flight, as in link.Faulty: the
		// queue only needs to hold a delay's worth of them.
		delayed = make(chan delayedFrame, 1<<16)
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			t := time.NewTimer(time.Hour)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case f := <-delayed:
					if d := time.Until(f.due); d > 0 {
						t.Reset(d)
						select {
						case <-ctx.Done():
							f.b.Release()
							return
						case <-t.C:
						}
					}
					w.inject(f.b)
				}
			}
		}()
	}
	for {
		pkt := w.from.ReadContext(ctx)
		if pkt == nil {
			return
		}
		w.carried.Add(1)
		drop := w.o.Loss > 0 && w.rng.Float64() < w.o.Loss
		if drop {
			w.dropped.Add(1)
			pkt.DecRef()
			continue
		}
		var b buffer.Buffer
		if w.noCopy {
			b = pkt.ToBuffer() // shares the sender's chunks by reference
		} else {
			// The one copy of this hop.
			v := buffer.NewView(pkt.Size())
			for _, s := range pkt.AsSlices() {
				v.Write(s)
			}
			b = buffer.MakeWithView(v)
		}
		pkt.DecRef()
		if delayed == nil {
			w.inject(b)
			continue
		}
		select {
		case delayed <- delayedFrame{due: time.Now().Add(w.o.Delay), b: b}:
		default:
			w.dropped.Add(1)
			b.Release() // queue overflow: a tail drop
		}
	}
}

func (w *gvisorWire) inject(b buffer.Buffer) {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: b})
	// ethernet.Endpoint reads the protocol from the frame's own header.
	w.to.InjectInbound(0, pkt)
	pkt.DecRef()
}

func (p *gvisorPair) Listen() (net.Listener, error) {
	ln, err := gonet.ListenTCP(p.server, tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4([4]byte{10, 0, 0, 2}), Port: 5001}, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("gvisor listen: %w", err)
	}
	return ln, nil
}

func (p *gvisorPair) Dial(ctx context.Context, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	c, err := gonet.DialContextTCP(ctx, p.client, tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4(ap.Addr().As4()), Port: ap.Port()}, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("gvisor dial: %w", err)
	}
	return c, nil
}

func (p *gvisorPair) Close() error {
	p.cancel()
	p.wg.Wait()
	for i, s := range []*stack.Stack{p.client, p.server} {
		p.txPackets[i] = s.NICInfo()[gvisorNIC].Stats.Tx.Packets.Value()
	}
	p.client.Close()
	p.server.Close()
	for _, ch := range p.chans {
		ch.Close()
	}
	p.client.Wait()
	p.server.Wait()
	return nil
}
