package ipv4

import (
	"net/netip"

	"github.com/microtcp/microtcp/core/wire"
)

// maxErrorPacket bounds an ICMP error with its IP header: RFC 1812
// §4.3.2.3 quotes "as much of the original datagram as possible without
// the length of the ICMP datagram exceeding 576 bytes" (RFC 1122 §3.2.2
// asks for at least the header and 8 octets).
const maxErrorPacket = 576

// isErrorType reports whether t is an ICMP error message. Unknown types
// count as errors: answering them could start a storm (Linux does the same).
func isErrorType(t wire.ICMPv4Type) bool {
	switch t {
	case wire.ICMPEchoReply, wire.ICMPEchoRequest,
		9, 10, // router advertisement, solicitation (RFC 1256)
		13, 14, // timestamp, reply
		15, 16, // information request, reply
		17, 18: // address mask request, reply
		return false
	}
	return true
}

// ErrorAllowed reports whether an ICMP error about orig may be sent, per
// RFC 1122 §3.2.2. linkBroadcast tells that orig arrived in a link-layer
// broadcast or multicast frame.
func ErrorAllowed(orig wire.IPv4, local netip.Prefix, linkBroadcast bool) bool {
	// RFC 1122 §3.2.2: "An ICMP error message MUST NOT be sent as the
	// result of receiving: * an ICMP error message, or ..."
	if orig.Protocol() == wire.ProtoICMP && orig.FragmentOffset() == 0 {
		p := orig.Payload()
		if len(p) == 0 || isErrorType(wire.ICMPv4Type(p[0])) {
			return false
		}
	}
	// "* a datagram destined to an IP broadcast or IP multicast address, or
	//  * a datagram sent as a link-layer broadcast, or
	//  * a non-initial fragment, or ..."
	if linkBroadcast || orig.FragmentOffset() != 0 {
		return false
	}
	if dst := orig.Dst(); dst.IsMulticast() || IsBroadcast(local, dst) {
		return false
	}
	// "* a datagram whose source address does not define a single host --
	// e.g., a zero address, a loopback address, a broadcast address, a
	// multicast address, or a Class E address."
	return singleHost(local, orig.Src())
}

// singleHost reports whether a names one host (RFC 1122 §3.2.1.3).
func singleHost(local netip.Prefix, a netip.Addr) bool {
	if !a.Is4() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || IsBroadcast(local, a) {
		return false
	}
	return a.As4()[0] < 240 // Class E, 240.0.0.0/4
}

// ErrorLen is the length of the ICMP error message EncodeError writes
// about orig: the 8-byte header and as much of orig as keeps the whole IP
// packet (with a 20-byte header) within 576 bytes.
func ErrorLen(orig wire.IPv4) int {
	return wire.ICMPv4HeaderLen + min(len(orig), maxErrorPacket-wire.IPv4HeaderLen-wire.ICMPv4HeaderLen)
}

// EncodeError writes an ICMP error message of type typ and code about
// orig into b, checksum included, and returns its length. rest is the
// rest-of-header word (the next-hop MTU for fragmentation needed, the
// pointer<<24 for parameter problem, else 0). It returns 0 and writes
// nothing if b is shorter than ErrorLen(orig).
func EncodeError(b []byte, typ wire.ICMPv4Type, code uint8, rest uint32, orig wire.IPv4) int {
	n := ErrorLen(orig)
	if len(b) < n {
		return 0
	}
	// RFC 792: "Internet Header + 64 bits of Original Data Datagram",
	// extended to what fits (RFC 1812 §4.3.2.3).
	copy(b[wire.ICMPv4HeaderLen:n], orig)
	f := wire.ICMPv4Fields{Type: typ, Code: code, Rest: rest}
	f.Encode(b[:n])
	return n
}

// EncodeEchoReply writes the reply to echo request req into b: the same
// identifier, sequence number and data, type 0 (RFC 792 "Echo or Echo
// Reply Message"). It returns its length, or 0 if b is shorter than req.
func EncodeEchoReply(b []byte, req wire.ICMPv4) int {
	n := len(req)
	if len(b) < n || n < wire.ICMPv4HeaderLen {
		return 0
	}
	copy(b, req)
	f := wire.ICMPv4Fields{Type: wire.ICMPEchoReply, Code: 0, Rest: req.Rest()}
	f.Encode(b[:n])
	return n
}
