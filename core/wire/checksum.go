package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum adds b to an RFC 1071 ones' complement running sum and returns the
// unfolded result. Chain calls to sum discontiguous pieces, then Fold.
// Pieces after the first must start at an even offset of the whole message.
//
// It adds 64-bit big-endian words with end-around carry: since
// 2^16 ≡ 1 (mod 2^16-1), a 64-bit word is congruent to the sum of its four
// 16-bit words (RFC 1071 §2(C), "parallel summation"), and a carry out of
// bit 63 is added back in like one out of bit 15. Eight words per
// iteration, one carry chain: the loads are independent, only the adds are
// serial.
func Sum(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	var c uint64
	for len(b) >= 64 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[32:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[40:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[48:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[56:]), c)
		b = b[64:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	// The last 0..7 bytes form one word. Any even byte offset is as good
	// as another (2^16 ≡ 1), so the pieces go to disjoint bit ranges; a
	// lone last byte is the high half of a zero-padded 16-bit word.
	var t uint64
	if len(b) >= 4 {
		t = uint64(binary.BigEndian.Uint32(b)) << 32
		b = b[4:]
	}
	if len(b) >= 2 {
		t |= uint64(binary.BigEndian.Uint16(b)) << 16
		b = b[2:]
	}
	if len(b) == 1 {
		t |= uint64(b[0]) << 8
	}
	s, c = bits.Add64(s, t, c)
	// End-around carry: after adding a carry out, s is 0 if it carried
	// again, so the second add cannot overflow.
	s, c = bits.Add64(s, 0, c)
	s += c
	s32, c32 := bits.Add32(uint32(s>>32), uint32(s), 0)
	return s32 + c32
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
