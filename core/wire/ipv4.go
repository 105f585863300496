package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPProtocol is the IPv4 protocol number.
type IPProtocol uint8

const (
	ProtoICMP IPProtocol = 1
	ProtoTCP  IPProtocol = 6
	ProtoUDP  IPProtocol = 17
)

// IPv4HeaderLen is the length of an IPv4 header without options.
const IPv4HeaderLen = 20

// IPv4 flag bits as they sit in the flags/fragment-offset word.
const (
	ipv4FlagDF = 0x4000
	ipv4FlagMF = 0x2000
)

// IPv4 is a view of an IPv4 packet, trimmed to its total length.
type IPv4 []byte

// ParseIPv4 checks version, header length and total length, and returns the
// view trimmed to the total length (dropping Ethernet padding). It does not
// verify the header checksum: call ChecksumValid, so that callers can count
// that drop reason on its own.
func ParseIPv4(b []byte) (IPv4, error) {
	if len(b) < IPv4HeaderLen {
		return nil, fmt.Errorf("ipv4: %d bytes: %w", len(b), ErrTruncated)
	}
	if v := b[0] >> 4; v != 4 {
		return nil, fmt.Errorf("ipv4: version %d: %w", v, ErrBadVersion)
	}
	hl := int(b[0]&0xf) * 4
	if hl < IPv4HeaderLen {
		return nil, fmt.Errorf("ipv4: header length %d: %w", hl, ErrBadLength)
	}
	tl := int(binary.BigEndian.Uint16(b[2:]))
	if tl < hl {
		return nil, fmt.Errorf("ipv4: total length %d < header length %d: %w", tl, hl, ErrBadLength)
	}
	if tl > len(b) {
		return nil, fmt.Errorf("ipv4: total length %d > %d bytes: %w", tl, len(b), ErrTruncated)
	}
	return IPv4(b[:tl]), nil
}

func (ip IPv4) HeaderLen() int       { return int(ip[0]&0xf) * 4 }
func (ip IPv4) TOS() uint8           { return ip[1] }
func (ip IPv4) TotalLen() int        { return int(binary.BigEndian.Uint16(ip[2:])) }
func (ip IPv4) ID() uint16           { return binary.BigEndian.Uint16(ip[4:]) }
func (ip IPv4) DontFragment() bool   { return binary.BigEndian.Uint16(ip[6:])&ipv4FlagDF != 0 }
func (ip IPv4) MoreFragments() bool  { return binary.BigEndian.Uint16(ip[6:])&ipv4FlagMF != 0 }
func (ip IPv4) TTL() uint8           { return ip[8] }
func (ip IPv4) Protocol() IPProtocol { return IPProtocol(ip[9]) }
func (ip IPv4) Checksum() uint16     { return binary.BigEndian.Uint16(ip[10:]) }
func (ip IPv4) Src() netip.Addr      { return netip.AddrFrom4([4]byte(ip[12:16])) }
func (ip IPv4) Dst() netip.Addr      { return netip.AddrFrom4([4]byte(ip[16:20])) }
func (ip IPv4) Options() []byte      { return ip[IPv4HeaderLen:ip.HeaderLen()] }
func (ip IPv4) Payload() []byte      { return ip[ip.HeaderLen():] }
func (ip IPv4) ChecksumValid() bool  { return Checksum(ip[:ip.HeaderLen()]) == 0 }
func (ip IPv4) IsFragment() bool     { return ip.MoreFragments() || ip.FragmentOffset() != 0 }

// FragmentOffset returns the fragment offset in bytes (the field counts 8-byte units).
func (ip IPv4) FragmentOffset() int { return int(binary.BigEndian.Uint16(ip[6:])&0x1fff) * 8 }

// SetTTL changes the TTL and updates the header checksum incrementally.
func (ip IPv4) SetTTL(ttl uint8) {
	old := binary.BigEndian.Uint16(ip[8:])
	ip[8] = ttl
	binary.BigEndian.PutUint16(ip[10:], UpdateChecksum(ip.Checksum(), old, binary.BigEndian.Uint16(ip[8:])))
}

// IPv4Fields describes an IPv4 header without options to encode.
type IPv4Fields struct {
	TOS            uint8
	TotalLen       int // header plus payload
	ID             uint16
	DontFragment   bool
	MoreFragments  bool
	FragmentOffset int // in bytes; must be a multiple of 8
	TTL            uint8
	Protocol       IPProtocol
	Src, Dst       netip.Addr
}

// Encode writes a 20-byte header, checksum included, into b[:IPv4HeaderLen].
func (f *IPv4Fields) Encode(b []byte) {
	_ = b[IPv4HeaderLen-1]
	b[0] = 4<<4 | IPv4HeaderLen/4
	b[1] = f.TOS
	binary.BigEndian.PutUint16(b[2:], uint16(f.TotalLen))
	binary.BigEndian.PutUint16(b[4:], f.ID)
	ff := uint16(f.FragmentOffset/8) & 0x1fff
	if f.DontFragment {
		ff |= ipv4FlagDF
	}
	if f.MoreFragments {
		ff |= ipv4FlagMF
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	b[8] = f.TTL
	b[9] = uint8(f.Protocol)
	b[10], b[11] = 0, 0
	s, d := f.Src.As4(), f.Dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:], Checksum(b[:IPv4HeaderLen]))
}
