package stack

import (
	"errors"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/wire"
)

// Input processes one inbound frame (an Ethernet frame, or an IPv4 packet
// on LinkIP). The frame is borrowed for the call only. Malformed or unwanted
// frames are counted in Stats and dropped.
func (s *Stack) Input(now time.Time, frame []byte) {
	if s.closed {
		return
	}
	s.now = now
	s.stats.Link.FramesIn++
	if s.cfg.LinkType == LinkIP {
		s.inputIPv4(frame, false, false)
	} else {
		s.inputEthernet(frame)
	}
	s.finish()
}

func (s *Stack) inputEthernet(frame []byte) {
	eth, err := wire.ParseEthernet(frame)
	if err != nil {
		s.stats.Link.Truncated++
		return
	}
	dst := eth.Dst()
	linkBroadcast := dst.IsBroadcast()
	// We join no multicast group, so only our MAC and broadcast are ours.
	if dst != s.cfg.MAC && !linkBroadcast {
		s.stats.Link.NotForUs++
		return
	}
	switch eth.EtherType() {
	case wire.EtherTypeARP:
		s.inputARP(eth.Payload())
	case wire.EtherTypeIPv4:
		s.inputIPv4(eth.Payload(), linkBroadcast, false)
	default:
		s.stats.Link.UnknownEtherType++
	}
}

func (s *Stack) inputARP(b []byte) {
	pkt, err := wire.ParseARP(b)
	switch {
	case errors.Is(err, wire.ErrUnsupported):
		s.stats.ARP.Unsupported++
	case err != nil:
		s.stats.ARP.Truncated++
	default:
		s.stats.ARP.In++
		s.arp.Input(s.now, pkt, s.arpOut())
	}
}

// inputIPv4 validates an IPv4 packet, reassembles it if it is a fragment and
// hands it to its transport. fromLoop marks packets we sent ourselves.
func (s *Stack) inputIPv4(b []byte, linkBroadcast, fromLoop bool) {
	ip, err := wire.ParseIPv4(b)
	if err != nil {
		switch {
		case errors.Is(err, wire.ErrBadVersion):
			s.stats.IPv4.BadVersion++
		case errors.Is(err, wire.ErrTruncated):
			s.stats.IPv4.Truncated++
		default:
			s.stats.IPv4.BadHeader++
		}
		return
	}
	// RFC 1122 §3.2.1.2: a packet whose header checksum fails is discarded.
	if !ip.ChecksumValid() {
		s.stats.IPv4.BadChecksum++
		return
	}
	src, dst := ip.Src(), ip.Dst()
	// RFC 1122 §3.2.1.3: discard packets from a broadcast or multicast
	// source; one claiming our own address from the wire is a martian.
	if src.IsMulticast() || ipv4.IsBroadcast(s.cfg.Addr, src) || (!fromLoop && (src == s.addr || src.IsLoopback())) {
		s.stats.IPv4.BadSource++
		return
	}
	// RFC 1122 §3.2.1.3: accept our address and the broadcast addresses.
	bcast := ipv4.IsBroadcast(s.cfg.Addr, dst)
	if dst != s.addr && !bcast && !(fromLoop && dst.IsLoopback()) {
		s.stats.IPv4.NotForUs++
		return
	}
	if ip.IsFragment() {
		// RFC 791 §3.2 (reassembly), RFC 815.
		whole, err := s.reasm.Add(s.now, ip)
		if err != nil {
			s.stats.IPv4.ReassemblyFails++
			return
		}
		if whole == nil {
			s.stats.IPv4.FragmentsHeld++
			return
		}
		ip = whole
	}
	linkBroadcast = linkBroadcast || bcast
	// The transport switch: one case per protocol we speak.
	switch ip.Protocol() {
	case wire.ProtoICMP:
		s.inputICMP(ip, linkBroadcast)
	case wire.ProtoUDP:
		s.inputUDP(ip, linkBroadcast)
	case wire.ProtoTCP:
		s.inputTCP(ip, linkBroadcast)
	default:
		s.stats.IPv4.UnknownProtocol++
		// RFC 1122 §3.2.2.1: a host should send protocol unreachable.
		s.sendICMPError(ip, wire.ICMPDestUnreachable, wire.ICMPCodeProtoUnreachable, linkBroadcast)
	}
}

func (s *Stack) inputUDP(ip wire.IPv4, broadcast bool) {
	u, err := wire.ParseUDP(ip.Payload())
	if err != nil {
		if errors.Is(err, wire.ErrTruncated) {
			s.stats.UDP.Truncated++
		} else {
			s.stats.UDP.BadLength++
		}
		return
	}
	src, dst := ip.Src(), ip.Dst()
	// RFC 768, RFC 1122 §4.1.3.4: verify a non-zero checksum.
	if !u.ChecksumValid(src, dst) {
		s.stats.UDP.BadChecksum++
		return
	}
	from := netip.AddrPortFrom(src, u.SrcPort())
	sock := s.udp.Lookup(from, netip.AddrPortFrom(dst, u.DstPort()))
	if sock == nil {
		s.stats.UDP.NoPorts++
		// RFC 1122 §4.1.3.1: no port → ICMP port unreachable.
		s.sendICMPError(ip, wire.ICMPDestUnreachable, wire.ICMPCodePortUnreachable, broadcast)
		return
	}
	if !sock.Deliver(from, u.Payload()) {
		s.stats.UDP.RcvbufErrors++
		return
	}
	s.stats.UDP.InDatagrams++
}

// BeginBatch tells the stack that a burst of inbound frames follows (read
// from the link in one go), each handed to Input, and then EndBatch. In
// between, TCP may hold back acknowledgments of in-order data and send one
// per connection at EndBatch (core/tcp BeginBatch).
func (s *Stack) BeginBatch() {
	if s.closed {
		return
	}
	s.tcp.BeginBatch()
}

// EndBatch ends the burst begun by BeginBatch and sends what TCP held back.
func (s *Stack) EndBatch(now time.Time) {
	if s.closed {
		return
	}
	s.now = now
	s.tcp.EndBatch(now, s.tcpOut())
	s.finish()
}
