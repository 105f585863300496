package stack

import (
	"fmt"
	"net/netip"
	"syscall"

	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/wire"
)

type routeKind int

const (
	routeUnicast   routeKind = iota // through nextHop
	routeBroadcast                  // link broadcast, no resolution
	routeLocal                      // to ourselves: loop back internally
)

type route struct {
	kind    routeKind
	nextHop netip.Addr
}

// route decides how a packet to dst leaves the host.
func (s *Stack) route(dst netip.Addr) (route, error) {
	switch {
	case !dst.Is4():
		return route{}, fmt.Errorf("stack: route to %v: not an IPv4 address: %w", dst, syscall.EAFNOSUPPORT)
	case dst == s.addr || dst.IsLoopback():
		return route{kind: routeLocal}, nil
	case dst.IsUnspecified() || dst.IsMulticast():
		s.stats.IPv4.NoRoute++
		return route{}, fmt.Errorf("stack: route to %v: unsupported destination: %w", dst, syscall.EHOSTUNREACH)
	case ipv4.IsBroadcast(s.cfg.Addr, dst):
		return route{kind: routeBroadcast}, nil
	case s.cfg.LinkType == LinkIP:
		// A TUN link is point to point: everything goes through it.
		return route{kind: routeUnicast, nextHop: dst}, nil
	}
	nh, err := ipv4.NextHop(s.cfg.Addr, s.cfg.Gateway, dst)
	if err != nil {
		s.stats.IPv4.NoRoute++
		return route{}, fmt.Errorf("stack: %w", err)
	}
	// Like a Linux neighbour in NUD_FAILED, a next hop that just failed
	// resolution fails sends at once rather than queueing them for
	// another MaxRequests seconds.
	if at, ok := s.failed[nh]; ok {
		if s.now.Before(at.Add(FailedNeighbourHold)) {
			return route{}, fmt.Errorf("stack: %v did not answer ARP: %w", nh, syscall.EHOSTUNREACH)
		}
		delete(s.failed, nh)
	}
	return route{kind: routeUnicast, nextHop: nh}, nil
}

// maxFailed bounds the failed-neighbour memory.
const maxFailed = 256

// markFailed remembers that ip did not answer ARP.
func (s *Stack) markFailed(ip netip.Addr) {
	if len(s.failed) >= maxFailed {
		for a, at := range s.failed {
			if !s.now.Before(at.Add(FailedNeighbourHold)) {
				delete(s.failed, a)
			}
		}
		if len(s.failed) >= maxFailed {
			clear(s.failed)
		}
	}
	s.failed[ip] = s.now
}

// newPacket returns a frame (see newFrame: reused, headers zeroed, the
// rest to be written in full) with room for the link header, a 20-byte
// IPv4 header and a transport part of n bytes, which it also returns.
func (s *Stack) newPacket(n int) (frame, transport []byte) {
	frame = s.newFrame(s.linkHdr + wire.IPv4HeaderLen + n)
	return frame, frame[s.linkHdr+wire.IPv4HeaderLen:]
}

// emit fills in the IPv4 header of a frame from newPacket and sends it,
// fragmenting it when it exceeds the MTU. queued reports that at least one
// piece waits for ARP.
func (s *Stack) emit(frame []byte, proto wire.IPProtocol, src, dst netip.Addr, rt route) (queued bool, err error) {
	hdr := wire.IPv4Fields{
		TotalLen: len(frame) - s.linkHdr,
		ID:       s.nextID(),
		TTL:      DefaultTTL,
		Protocol: proto,
		Src:      src,
		Dst:      dst,
	}
	// Packets to ourselves never touch a link, so the MTU does not apply.
	if hdr.TotalLen <= s.cfg.MTU || rt.kind == routeLocal {
		hdr.Encode(frame[s.linkHdr:])
		return s.transmit(frame, rt), nil
	}
	return s.fragment(hdr, frame, rt)
}

// fragment sends a datagram larger than the MTU as fragments (RFC 791
// §2.3, §3.2: UDP and ICMP leave DF clear), each in its own frame. It is
// apart from emit so that only this path moves the header to the heap.
func (s *Stack) fragment(hdr wire.IPv4Fields, frame []byte, rt route) (queued bool, err error) {
	err = ipv4.Fragment(&hdr, frame[s.linkHdr+wire.IPv4HeaderLen:], s.cfg.MTU, func(h *wire.IPv4Fields, chunk []byte) {
		f := s.newFrame(s.linkHdr + wire.IPv4HeaderLen + len(chunk))
		copy(f[s.linkHdr+wire.IPv4HeaderLen:], chunk)
		h.Encode(f[s.linkHdr:])
		s.stats.IPv4.FragmentsOut++
		if s.transmit(f, rt) {
			queued = true
		}
	})
	// The fragments copied what they carry: the whole datagram's buffer
	// is spent.
	s.recycle(frame)
	if err != nil {
		s.stats.IPv4.FragmentFails++
		return queued, fmt.Errorf("stack: fragment: %w", err)
	}
	return queued, nil
}

// transmit sends one IPv4 packet (frame minus link header is complete). It
// returns true when the packet was queued behind ARP. It takes frame over:
// the caller must not touch it afterwards, as it may be reused at once.
func (s *Stack) transmit(frame []byte, rt route) (queued bool) {
	s.stats.IPv4.PacketsOut++
	switch rt.kind {
	case routeLocal:
		s.loop = append(s.loop, frame)
		return false
	case routeBroadcast:
		if s.linkHdr != 0 {
			s.encodeEthernet(frame, wire.BroadcastMAC, wire.EtherTypeIPv4)
		}
	default:
		if s.linkHdr != 0 {
			mac, ok := s.arp.Resolve(s.now, rt.nextHop, frame[s.linkHdr:], s.arpOut())
			if !ok {
				// ARP queued a copy (Resolve borrows the packet).
				s.recycle(frame)
				return true
			}
			s.encodeEthernet(frame, mac, wire.EtherTypeIPv4)
		}
	}
	s.queueFrame(frame)
	return false
}

func (s *Stack) encodeEthernet(frame []byte, dst wire.MAC, typ wire.EtherType) {
	eth := wire.EthernetFields{Dst: dst, Src: s.cfg.MAC, EtherType: typ}
	eth.Encode(frame)
}

// drainLoop delivers the packets we sent to ourselves. Delivery may send
// more (an echo reply, a port unreachable), which the same loop picks up;
// every such chain ends because replies to replies are never sent.
func (s *Stack) drainLoop() {
	if s.looping {
		return
	}
	s.looping = true
	for i := 0; i < len(s.loop); i++ {
		f := s.loop[i]
		s.loop[i] = nil
		s.stats.IPv4.LoopbackIn++
		// Input borrows the packet like any inbound frame, so the buffer
		// is spent once it returns.
		s.inputIPv4(f[s.linkHdr:], false, true)
		s.recycle(f)
	}
	s.loop = s.loop[:0]
	s.looping = false
}

// sendState is the resolution state of a socket's last send.
type sendState struct {
	resolving bool
	nextHop   netip.Addr
	result    error
	writable  func()
}

// wait records that the last send waits for nextHop.
func (s *Stack) wait(ws *sendState, nextHop netip.Addr) {
	ws.resolving = true
	ws.nextHop = nextHop
	ws.result = nil
	s.waiters[nextHop] = append(s.waiters[nextHop], ws)
}

// complete ends the waits on ip with result and wakes the writers.
func (s *Stack) complete(ip netip.Addr, result error) {
	list := s.waiters[ip]
	delete(s.waiters, ip)
	for _, ws := range list {
		if !ws.resolving || ws.nextHop != ip {
			continue // it moved on to another send since
		}
		ws.resolving = false
		ws.result = result
		if ws.writable != nil {
			ws.writable()
		}
	}
}

// arpOutput is the Stack seen as the ARP cache's Output; a named pointer
// conversion, so handing it over does not allocate.
type arpOutput Stack

func (s *Stack) arpOut() *arpOutput { return (*arpOutput)(s) }

func (o *arpOutput) SendARP(f *wire.ARPFields, dst wire.MAC) {
	s := (*Stack)(o)
	b := s.newFrame(wire.EthernetHeaderLen + wire.ARPLen)
	s.encodeEthernet(b, dst, wire.EtherTypeARP)
	f.Encode(b[wire.EthernetHeaderLen:])
	s.queueFrame(b)
}

func (o *arpOutput) SendIP(packet []byte, dst wire.MAC) {
	s := (*Stack)(o)
	b := s.newFrame(wire.EthernetHeaderLen + len(packet))
	s.encodeEthernet(b, dst, wire.EtherTypeIPv4)
	copy(b[wire.EthernetHeaderLen:], packet)
	s.queueFrame(b)
}

func (o *arpOutput) Unreachable(ip netip.Addr, dropped int) {
	(*Stack)(o).markFailed(ip)
	// TCP hears of it in finish, outside whatever engine call may be
	// running now (the engine is not re-entrant).
	o.unreachable = append(o.unreachable, ip)
	(*Stack)(o).complete(ip, fmt.Errorf("stack: %v did not answer ARP: %w", ip, syscall.EHOSTUNREACH))
}

func (o *arpOutput) Resolved(ip netip.Addr) {
	delete(o.failed, ip)
	(*Stack)(o).complete(ip, nil)
}
