package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// UDPHeaderLen is the length of a UDP header.
const UDPHeaderLen = 8

// UDP is a view of a UDP datagram, trimmed to its length field.
type UDP []byte

// ParseUDP checks the header and length field and trims b to the datagram.
// It does not verify the checksum: call ChecksumValid.
func ParseUDP(b []byte) (UDP, error) {
	if len(b) < UDPHeaderLen {
		return nil, fmt.Errorf("udp: %d bytes: %w", len(b), ErrTruncated)
	}
	l := int(binary.BigEndian.Uint16(b[4:]))
	if l < UDPHeaderLen {
		return nil, fmt.Errorf("udp: length %d: %w", l, ErrBadLength)
	}
	if l > len(b) {
		return nil, fmt.Errorf("udp: length %d > %d bytes: %w", l, len(b), ErrTruncated)
	}
	return UDP(b[:l]), nil
}

func (u UDP) SrcPort() uint16  { return binary.BigEndian.Uint16(u[0:]) }
func (u UDP) DstPort() uint16  { return binary.BigEndian.Uint16(u[2:]) }
func (u UDP) Length() int      { return int(binary.BigEndian.Uint16(u[4:])) }
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[6:]) }
func (u UDP) Payload() []byte  { return u[UDPHeaderLen:] }

// ChecksumValid verifies the checksum against the IPv4 pseudo-header. A zero
// checksum means the sender computed none (RFC 768) and is accepted.
func (u UDP) ChecksumValid(src, dst netip.Addr) bool {
	if u.Checksum() == 0 {
		return true
	}
	return Fold(Sum(u, PseudoHeaderSum(ProtoUDP, src, dst, len(u)))) == 0
}

// UDPFields describes a UDP header to encode.
type UDPFields struct {
	SrcPort, DstPort uint16
}

// Encode writes the header into b[:8], with length len(b) and the checksum
// over the pseudo-header and all of b, so the payload must already be in
// b[8:]. A computed checksum of zero is sent as 0xffff (RFC 768).
func (f *UDPFields) Encode(b []byte, src, dst netip.Addr) {
	_ = b[UDPHeaderLen-1]
	binary.BigEndian.PutUint16(b[0:], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:], f.DstPort)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	b[6], b[7] = 0, 0
	c := Fold(Sum(b, PseudoHeaderSum(ProtoUDP, src, dst, len(b))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:], c)
}
