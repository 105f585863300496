package wire

import (
	"fmt"
	"net/netip"
	"strings"
)

// Describe decodes a whole frame through every layer it understands into one
// line, the layers separated by " | ", for simulation traces and debugging.
// ethernet says whether frame starts with an Ethernet header (TAP, Pipe) or
// directly with the IP packet (TUN). Garbage never panics: the line ends with
// the layer that failed and why, and bad checksums are flagged the way
// tcpdump -v does.
func Describe(frame []byte, ethernet bool) string {
	var d describer
	if ethernet {
		d.ethernet(frame)
	} else {
		d.ip(frame)
	}
	return strings.Join(d.parts, " | ")
}

type describer struct{ parts []string }

func (d *describer) add(format string, args ...any) {
	d.parts = append(d.parts, fmt.Sprintf(format, args...))
}

func (d *describer) ethernet(b []byte) {
	e, err := ParseEthernet(b)
	if err != nil {
		d.add("error: %v", err)
		return
	}
	d.add("%v", e)
	switch e.EtherType() {
	case EtherTypeARP:
		a, err := ParseARP(e.Payload())
		if err != nil {
			d.add("error: %v", err)
			return
		}
		d.add("ARP, %v", a)
	case EtherTypeIPv4:
		d.ip(e.Payload())
	}
}

func (d *describer) ip(b []byte) {
	if len(b) > 0 && b[0]>>4 == 6 {
		d.add("IPv6, length %d (not decoded)", len(b))
		return
	}
	ip, err := ParseIPv4(b)
	if err != nil {
		d.add("error: %v", err)
		return
	}
	d.add("%v%s", ip, checksumNote(ip.ChecksumValid(), ip.Checksum(), ip[:ip.HeaderLen()], 10, 0))
	if ip.IsFragment() {
		// Only the reassembled datagram has a whole transport header and a
		// checksum that can be verified (RFC 791 §3.2).
		d.add("fragment, %d bytes of %s", len(ip.Payload()), ipProtocolName(ip.Protocol()))
		return
	}
	src, dst, p := ip.Src(), ip.Dst(), ip.Payload()
	switch ip.Protocol() {
	case ProtoICMP:
		d.icmp(p)
	case ProtoUDP:
		u, err := ParseUDP(p)
		if err != nil {
			d.add("error: %v", err)
			return
		}
		note := " [no cksum]"
		if u.Checksum() != 0 {
			note = checksumNote(u.ChecksumValid(src, dst), u.Checksum(), u, 6, PseudoHeaderSum(ProtoUDP, src, dst, len(u)))
		}
		d.add("%v%s", u, note)
	case ProtoTCP:
		t, err := ParseTCP(p)
		if err != nil {
			d.add("error: %v", err)
			return
		}
		d.add("%v%s", t, checksumNote(t.ChecksumValid(src, dst), t.Checksum(), t, 16, PseudoHeaderSum(ProtoTCP, src, dst, len(t))))
		if _, err := t.ParsedOptions(); err != nil {
			d.add("error: %v", err)
		}
	}
}

func (d *describer) icmp(b []byte) {
	m, err := ParseICMPv4(b)
	if err != nil {
		d.add("error: %v", err)
		return
	}
	d.add("%v%s", m, checksumNote(m.ChecksumValid(), m.Checksum(), m, 2, 0))
	switch m.Type() {
	case ICMPDestUnreachable, ICMPTimeExceeded, ICMPParamProblem:
		d.add("quoting %s", describeQuoted(m.Payload()))
	}
}

// describeQuoted names the datagram an ICMP error quotes: its IP header and
// at least 8 bytes of its payload (RFC 792), enough for the ports. The quote
// is short by design, so it is read with explicit bounds checks rather than
// through ParseIPv4, whose total-length check it would fail.
func describeQuoted(q []byte) string {
	if len(q) < IPv4HeaderLen || q[0]>>4 != 4 {
		return fmt.Sprintf("no IPv4 header (%d bytes)", len(q))
	}
	hl := int(q[0]&0xf) * 4
	if hl < IPv4HeaderLen || hl > len(q) {
		return fmt.Sprintf("IPv4 header length %d in %d bytes", hl, len(q))
	}
	src := netip.AddrFrom4([4]byte(q[12:16]))
	dst := netip.AddrFrom4([4]byte(q[16:20]))
	proto := IPProtocol(q[9])
	l4 := q[hl:]
	if (proto == ProtoTCP || proto == ProtoUDP) && len(l4) >= 4 {
		return fmt.Sprintf("%v.%d > %v.%d: %s", src, uint16(l4[0])<<8|uint16(l4[1]), dst, uint16(l4[2])<<8|uint16(l4[3]), ipProtocolName(proto))
	}
	return fmt.Sprintf("%v > %v: %s", src, dst, ipProtocolName(proto))
}

// checksumNote is "" for a good checksum, else tcpdump's "[bad cksum X
// (->Y)!]" with Y the value the sender should have written: the sum of b
// with the 16-bit checksum field at the even offset off left out.
func checksumNote(ok bool, got uint16, b []byte, off int, initial uint32) string {
	if ok {
		return ""
	}
	want := Fold(Sum(b[off+2:], Sum(b[:off], initial)))
	return fmt.Sprintf(" [bad cksum 0x%04x (->0x%04x)!]", got, want)
}
