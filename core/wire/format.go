package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// The String methods print headers the way tcpdump does, for logs and
// simulation traces. They allocate and are not for the hot path. A view that
// did not come from its parser may be short: String then says so instead of
// panicking.

// tcpFlagChars is tcpdump's flag order and letters (print-tcp.c): ACK prints
// as "." so a SYN-ACK reads "S.".
var tcpFlagChars = [...]struct {
	flag TCPFlags
	char byte
}{
	{FlagFIN, 'F'}, {FlagSYN, 'S'}, {FlagRST, 'R'}, {FlagPSH, 'P'},
	{FlagACK, '.'}, {FlagURG, 'U'}, {FlagECE, 'E'}, {FlagCWR, 'W'},
}

// String returns the flags as tcpdump prints them inside "Flags [...]":
// "S", "S.", "F.", "R", "P.", "." for a bare ACK, "none" for no flags.
func (f TCPFlags) String() string {
	if f == 0 {
		return "none"
	}
	var b [len(tcpFlagChars)]byte
	n := 0
	for _, c := range tcpFlagChars {
		if f&c.flag != 0 {
			b[n] = c.char
			n++
		}
	}
	return string(b[:n])
}

func etherTypeName(t EtherType) string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case EtherTypeIPv6:
		return "IPv6"
	case 0x8100:
		return "802.1Q"
	}
	return "Unknown"
}

func ipProtocolName(p IPProtocol) string {
	switch p {
	case ProtoICMP:
		return "ICMP"
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	}
	return "proto " + strconv.Itoa(int(p))
}

// String returns e.g. "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4
// (0x0800), length 98", length being the whole frame.
func (e Ethernet) String() string {
	if len(e) < EthernetHeaderLen {
		return fmt.Sprintf("ethernet truncated, length %d", len(e))
	}
	return fmt.Sprintf("%v > %v, ethertype %s (0x%04x), length %d",
		e.Src(), e.Dst(), etherTypeName(e.EtherType()), uint16(e.EtherType()), len(e))
}

// String returns e.g. "Request who-has 10.0.0.2 tell 10.0.0.1" or
// "Reply 10.0.0.2 is-at 02:00:00:00:00:02".
func (a ARP) String() string {
	if len(a) < ARPLen {
		return fmt.Sprintf("arp truncated, length %d", len(a))
	}
	switch a.Op() {
	case ARPRequest:
		return fmt.Sprintf("Request who-has %v tell %v", a.TargetIP(), a.SenderIP())
	case ARPReply:
		return fmt.Sprintf("Reply %v is-at %v", a.SenderIP(), a.SenderMAC())
	}
	return fmt.Sprintf("op %d, sender %v (%v), target %v (%v)",
		a.Op(), a.SenderIP(), a.SenderMAC(), a.TargetIP(), a.TargetMAC())
}

// String returns e.g. "10.0.0.1 > 10.0.0.2: ICMP, id 1234, ttl 64, length
// 84", with ", tos 0x10", ", frag off 1480", ", flags [DF]" / "[MF]" /
// "[DF+MF]" and ", options N bytes" when they apply.
func (ip IPv4) String() string {
	if len(ip) < IPv4HeaderLen || ip.HeaderLen() < IPv4HeaderLen || ip.HeaderLen() > len(ip) {
		return fmt.Sprintf("ip truncated, length %d", len(ip))
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%v > %v: %s, id %d, ttl %d", ip.Src(), ip.Dst(), ipProtocolName(ip.Protocol()), ip.ID(), ip.TTL())
	if ip.TOS() != 0 {
		fmt.Fprintf(&s, ", tos 0x%02x", ip.TOS())
	}
	if ip.FragmentOffset() != 0 {
		fmt.Fprintf(&s, ", frag off %d", ip.FragmentOffset())
	}
	switch {
	case ip.DontFragment() && ip.MoreFragments():
		s.WriteString(", flags [DF+MF]")
	case ip.DontFragment():
		s.WriteString(", flags [DF]")
	case ip.MoreFragments():
		s.WriteString(", flags [MF]")
	}
	if n := len(ip.Options()); n > 0 {
		fmt.Fprintf(&s, ", options %d bytes", n)
	}
	fmt.Fprintf(&s, ", length %d", ip.TotalLen())
	return s.String()
}

func icmpUnreachableName(code uint8) string {
	switch code {
	case ICMPCodeNetUnreachable:
		return "net unreachable"
	case ICMPCodeHostUnreachable:
		return "host unreachable"
	case ICMPCodeProtoUnreachable:
		return "protocol unreachable"
	case ICMPCodePortUnreachable:
		return "port unreachable"
	}
	return "code " + strconv.Itoa(int(code))
}

// String returns e.g. "echo request, id 1, seq 2, length 64", length being
// the whole ICMP message.
func (m ICMPv4) String() string {
	if len(m) < ICMPv4HeaderLen {
		return fmt.Sprintf("icmp truncated, length %d", len(m))
	}
	switch m.Type() {
	case ICMPEchoRequest, ICMPEchoReply:
		name := "echo request"
		if m.Type() == ICMPEchoReply {
			name = "echo reply"
		}
		return fmt.Sprintf("%s, id %d, seq %d, length %d", name, m.ID(), m.Seq(), len(m))
	case ICMPDestUnreachable:
		if m.Code() == ICMPCodeFragmentationNeeded {
			return fmt.Sprintf("destination unreachable, need to frag (mtu %d), length %d", m.NextHopMTU(), len(m))
		}
		return fmt.Sprintf("destination unreachable, %s, length %d", icmpUnreachableName(m.Code()), len(m))
	case ICMPTimeExceeded:
		what := "in-transit"
		if m.Code() == 1 {
			what = "reassembly"
		}
		return fmt.Sprintf("time exceeded %s, length %d", what, len(m))
	case ICMPParamProblem:
		return fmt.Sprintf("parameter problem, pointer %d, length %d", m[4], len(m))
	}
	return fmt.Sprintf("type %d, code %d, length %d", m.Type(), m.Code(), len(m))
}

// String returns e.g. "5353 > 53: UDP, length 32", length being the payload.
func (u UDP) String() string {
	if len(u) < UDPHeaderLen {
		return fmt.Sprintf("udp truncated, length %d", len(u))
	}
	return fmt.Sprintf("%d > %d: UDP, length %d", u.SrcPort(), u.DstPort(), len(u)-UDPHeaderLen)
}

// String returns e.g. "12345 > 80: Flags [S.], seq 1, ack 2, win 65535,
// options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0". Like
// tcpdump it prints "seq first:last+1" when the segment carries data, the
// ack only with ACK set and the urgent pointer only with URG set.
func (t TCP) String() string {
	if len(t) < TCPHeaderLen {
		return fmt.Sprintf("tcp truncated, length %d", len(t))
	}
	if t.HeaderLen() < TCPHeaderLen || t.HeaderLen() > len(t) {
		return fmt.Sprintf("%d > %d: tcp bad data offset %d, length %d", t.SrcPort(), t.DstPort(), t.HeaderLen(), len(t))
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%d > %d: Flags [%v], seq %d", t.SrcPort(), t.DstPort(), t.Flags(), uint32(t.Seq()))
	n := len(t.Payload())
	if n > 0 {
		fmt.Fprintf(&s, ":%d", uint32(t.Seq().Add(uint32(n))))
	}
	if t.Flags()&FlagACK != 0 {
		fmt.Fprintf(&s, ", ack %d", uint32(t.Ack()))
	}
	fmt.Fprintf(&s, ", win %d", t.Window())
	if t.Flags()&FlagURG != 0 {
		fmt.Fprintf(&s, ", urg %d", t.Urgent())
	}
	if len(t.Options()) > 0 {
		s.WriteString(", options [")
		writeTCPOptions(&s, t.Options())
		s.WriteString("]")
	}
	fmt.Fprintf(&s, ", length %d", n)
	return s.String()
}

// writeTCPOptions prints the option list in wire order with tcpdump's names.
// A malformed option ends the list with "[bad opt]".
func writeTCPOptions(s *strings.Builder, b []byte) {
	for i := 0; i < len(b); {
		if i > 0 {
			s.WriteByte(',')
		}
		kind := b[i]
		switch kind {
		case tcpOptEOL:
			s.WriteString("eol")
			return
		case tcpOptNOP:
			s.WriteString("nop")
			i++
			continue
		}
		if i+1 >= len(b) || b[i+1] < 2 || i+int(b[i+1]) > len(b) {
			s.WriteString("[bad opt]")
			return
		}
		l := int(b[i+1])
		v := b[i+2 : i+l]
		switch {
		case kind == tcpOptMSS && l == 4:
			fmt.Fprintf(s, "mss %d", binary.BigEndian.Uint16(v))
		case kind == tcpOptWindowScale && l == 3:
			fmt.Fprintf(s, "wscale %d", v[0])
		case kind == tcpOptSACKPermitted && l == 2:
			s.WriteString("sackOK")
		case kind == tcpOptTimestamps && l == 10:
			fmt.Fprintf(s, "TS val %d ecr %d", binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:]))
		case kind == tcpOptSACK && (l-2)%8 == 0 && l > 2:
			fmt.Fprintf(s, "sack %d ", (l-2)/8)
			for k := 0; k+8 <= len(v); k += 8 {
				fmt.Fprintf(s, "{%d:%d}", binary.BigEndian.Uint32(v[k:]), binary.BigEndian.Uint32(v[k+4:]))
			}
		case kind == tcpOptMSS || kind == tcpOptWindowScale || kind == tcpOptSACKPermitted ||
			kind == tcpOptTimestamps || kind == tcpOptSACK:
			fmt.Fprintf(s, "[bad opt kind %d len %d]", kind, l)
		default:
			fmt.Fprintf(s, "unknown-%d 0x%x", kind, v)
		}
		i += l
	}
}
