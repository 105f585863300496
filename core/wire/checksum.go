package wire

import (
	"encoding/binary"
	"net/netip"
)

// Sum adds b to an RFC 1071 ones' complement running sum and returns the
// unfolded result. Chain calls to sum discontiguous pieces, then Fold.
// Pieces after the first must start at an even offset of the whole message.
func Sum(b []byte, initial uint32) uint32 {
	sum := uint64(initial)
	for len(b) >= 8 {
		sum += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum>>32 != 0 {
		sum = (sum & 0xffffffff) + sum>>32
	}
	return uint32(sum)
}

// Fold reduces a running sum to the 16-bit ones' complement checksum value
// (already complemented, ready to store in a header).
func Fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + sum>>16
	}
	return ^uint16(sum)
}

// Checksum returns the RFC 1071 Internet checksum of b.
func Checksum(b []byte) uint16 { return Fold(Sum(b, 0)) }

// PseudoHeaderSum returns the running sum of the IPv4 pseudo-header used by
// TCP and UDP (RFC 9293 §3.1, RFC 768): addresses, protocol, and length.
func PseudoHeaderSum(proto IPProtocol, src, dst netip.Addr, length int) uint32 {
	s, d := src.As4(), dst.As4()
	sum := uint32(binary.BigEndian.Uint16(s[0:])) + uint32(binary.BigEndian.Uint16(s[2:]))
	sum += uint32(binary.BigEndian.Uint16(d[0:])) + uint32(binary.BigEndian.Uint16(d[2:]))
	sum += uint32(proto) + uint32(length)
	return sum
}

// UpdateChecksum returns the header checksum after one 16-bit field changes
// from old to new, without re-summing the packet (RFC 1624, eqn. 3:
// HC' = ~(~HC + ~m + m')).
func UpdateChecksum(hc, old, new uint16) uint16 {
	sum := uint32(^hc) + uint32(^old) + uint32(new)
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + sum>>16
	}
	return ^uint16(sum)
}
