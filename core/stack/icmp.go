package stack

import (
	"fmt"
	"net/netip"
	"syscall"

	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/tcp"
	"github.com/microtcp/microtcp/core/wire"
)

func (s *Stack) inputICMP(ip wire.IPv4, broadcast bool) {
	m, err := wire.ParseICMPv4(ip.Payload())
	if err != nil {
		s.stats.ICMP.Truncated++
		return
	}
	// RFC 792: the checksum covers the whole message.
	if !m.ChecksumValid() {
		s.stats.ICMP.BadChecksum++
		return
	}
	s.stats.ICMP.InMsgs++
	switch m.Type() {
	case wire.ICMPEchoRequest:
		// RFC 1122 §3.2.2.6 lets a host ignore broadcast echo requests;
		// Linux does by default (icmp_echo_ignore_broadcasts), so do we.
		if broadcast {
			s.stats.ICMP.InEchoBroadcast++
			return
		}
		s.stats.ICMP.InEchoRequests++
		s.echoReply(ip, m)
	case wire.ICMPEchoReply:
		e := s.echo[m.ID()]
		switch {
		case e == nil:
			s.stats.ICMP.InEchoNoSocket++
		case !e.deliver(ip.Src(), m.Seq(), len(m.Payload())):
			s.stats.ICMP.InEchoQueueFull++
		default:
			s.stats.ICMP.InEchoReplies++
		}
	case wire.ICMPDestUnreachable:
		s.stats.ICMP.InDestUnreachs++
		switch m.Code() {
		case wire.ICMPCodePortUnreachable:
			// RFC 1122 §4.1.3.3: pass it up; Linux maps it to ECONNREFUSED.
			s.socketError(m, syscall.ECONNREFUSED)
			// RFC 1122 4.2.3.9: a hard error for TCP.
			s.tcpICMPError(m, tcp.ICMPPortUnreachable)
		case wire.ICMPCodeProtoUnreachable:
			s.socketError(m, syscall.EHOSTUNREACH)
			s.tcpICMPError(m, tcp.ICMPPortUnreachable)
		case wire.ICMPCodeFragmentationNeeded:
			// We send UDP with DF clear, so for UDP this can only be stale
			// or forged; TCP sets DF (RFC 1191).
			s.tcpICMPError(m, tcp.ICMPFragmentationNeeded)
		default:
			s.socketError(m, syscall.EHOSTUNREACH)
			// RFC 1122 4.2.3.9: net and host unreachable are soft errors.
			s.tcpICMPError(m, tcp.ICMPHostUnreachable)
		}
	case wire.ICMPTimeExceeded:
		s.stats.ICMP.InTimeExcds++
		s.socketError(m, syscall.EHOSTUNREACH)
		// RFC 1122 4.2.3.9: time exceeded is a soft error too.
		s.tcpICMPError(m, tcp.ICMPHostUnreachable)
	default:
		s.stats.ICMP.InOther++
	}
}

// echoReply answers an echo request (RFC 792, RFC 1122 §3.2.2.6: same
// identifier, sequence and data; source is the request's destination).
func (s *Stack) echoReply(req wire.IPv4, m wire.ICMPv4) {
	dst := req.Src()
	if dst.IsUnspecified() {
		return
	}
	rt, err := s.route(dst)
	if err != nil {
		return
	}
	frame, t := s.newPacket(len(m))
	ipv4.EncodeEchoReply(t, m)
	s.stats.ICMP.OutMsgs++
	s.stats.ICMP.OutEchoReplies++
	// A reply queued behind ARP is sent when the requester resolves.
	_, _ = s.emit(frame, wire.ProtoICMP, s.addr, dst, rt)
}

// socketError hands an ICMP error about one of our UDP datagrams to the
// connected socket that sent it; like Linux, unconnected sockets never see
// them (RFC 1122 §4.1.3.3 leaves the choice to the application).
func (s *Stack) socketError(m wire.ICMPv4, errno syscall.Errno) {
	q, err := ipv4.ParseQuoted(m.Payload())
	if err != nil || q.Protocol != wire.ProtoUDP || len(q.Transport) < 4 || q.Src != s.addr && !q.Src.IsLoopback() {
		return
	}
	t := wire.UDP(q.Transport)
	local := netip.AddrPortFrom(q.Src, t.SrcPort())
	remote := netip.AddrPortFrom(q.Dst, t.DstPort())
	sock := s.udp.LookupConnected(local, remote)
	if sock == nil {
		return
	}
	u := s.udpOwners[sock]
	if u == nil {
		return
	}
	s.stats.ICMP.InErrorsMatched++
	u.softErr = fmt.Errorf("stack: ICMP %v code %d from %v: %w", m.Type(), m.Code(), remote, errno)
	if u.send.writable != nil {
		u.send.writable()
	}
}

// sendICMPError sends an ICMP error about orig, if RFC 1122 §3.2.2 allows
// it and the rate limit has room (RFC 1812 §4.3.2.8).
func (s *Stack) sendICMPError(orig wire.IPv4, typ wire.ICMPv4Type, code uint8, linkBroadcast bool) {
	if !ipv4.ErrorAllowed(orig, s.cfg.Addr, linkBroadcast) {
		s.stats.ICMP.OutErrorsForbidden++
		return
	}
	if !s.icmpRL.Allow(s.now) {
		s.stats.ICMP.OutRateLimited++
		return
	}
	dst := orig.Src()
	rt, err := s.route(dst)
	if err != nil {
		return
	}
	frame, t := s.newPacket(ipv4.ErrorLen(orig))
	n := ipv4.EncodeError(t, typ, code, 0, orig)
	frame = frame[:s.linkHdr+wire.IPv4HeaderLen+n]
	s.stats.ICMP.OutMsgs++
	switch typ {
	case wire.ICMPDestUnreachable:
		s.stats.ICMP.OutDestUnreachs++
	case wire.ICMPTimeExceeded:
		s.stats.ICMP.OutTimeExcds++
	}
	_, _ = s.emit(frame, wire.ProtoICMP, s.addr, dst, rt)
}

// reassemblyExpired is called for a datagram whose fragments did not all
// arrive in time: RFC 792, RFC 1122 §3.3.2 — time exceeded, code 1, if
// fragment zero arrived.
func (s *Stack) reassemblyExpired(first wire.IPv4) {
	s.sendICMPError(first, wire.ICMPTimeExceeded, 1, false)
}
