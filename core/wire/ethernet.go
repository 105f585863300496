package wire

import (
	"encoding/binary"
	"fmt"
)

// MAC is an Ethernet hardware address. It is a comparable value, unlike
// net.HardwareAddr, so it can key maps and be copied without allocating.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsBroadcast reports whether m is the broadcast address.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether the group bit is set (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// EtherType identifies the protocol in an Ethernet II payload.
type EtherType uint16

const (
	EtherTypeIPv4 EtherType = 0x0800
	EtherTypeARP  EtherType = 0x0806
	EtherTypeIPv6 EtherType = 0x86dd
)

// EthernetHeaderLen is the length of an Ethernet II header (no 802.1Q tag).
const EthernetHeaderLen = 14

// Ethernet is a view of an Ethernet II frame (header and payload; no FCS).
type Ethernet []byte

// ParseEthernet checks that b holds a whole Ethernet II header.
func ParseEthernet(b []byte) (Ethernet, error) {
	if len(b) < EthernetHeaderLen {
		return nil, fmt.Errorf("ethernet: %d bytes: %w", len(b), ErrTruncated)
	}
	return Ethernet(b), nil
}

func (e Ethernet) Dst() MAC             { return MAC(e[0:6]) }
func (e Ethernet) Src() MAC             { return MAC(e[6:12]) }
func (e Ethernet) EtherType() EtherType { return EtherType(binary.BigEndian.Uint16(e[12:])) }
func (e Ethernet) Payload() []byte      { return e[EthernetHeaderLen:] }

// EthernetFields describes an Ethernet II header to encode.
type EthernetFields struct {
	Dst, Src  MAC
	EtherType EtherType
}

// Encode writes the 14-byte header into b[:EthernetHeaderLen].
func (f *EthernetFields) Encode(b []byte) {
	_ = b[EthernetHeaderLen-1]
	copy(b[0:6], f.Dst[:])
	copy(b[6:12], f.Src[:])
	binary.BigEndian.PutUint16(b[12:], uint16(f.EtherType))
}
