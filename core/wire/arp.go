package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ARPOp is the ARP operation code.
type ARPOp uint16

const (
	ARPRequest ARPOp = 1
	ARPReply   ARPOp = 2
)

// ARPLen is the length of an ARP packet for Ethernet hardware and IPv4.
const ARPLen = 28

// ARP is a view of an ARP packet for Ethernet/IPv4 (RFC 826).
type ARP []byte

// ParseARP checks that b holds an Ethernet/IPv4 ARP packet. ARP for other
// hardware or protocol types fails with ErrUnsupported.
func ParseARP(b []byte) (ARP, error) {
	if len(b) < ARPLen {
		return nil, fmt.Errorf("arp: %d bytes: %w", len(b), ErrTruncated)
	}
	a := ARP(b[:ARPLen])
	if binary.BigEndian.Uint16(a[0:]) != 1 || binary.BigEndian.Uint16(a[2:]) != uint16(EtherTypeIPv4) || a[4] != 6 || a[5] != 4 {
		return nil, fmt.Errorf("arp: htype %d ptype %#04x hlen %d plen %d: %w",
			binary.BigEndian.Uint16(a[0:]), binary.BigEndian.Uint16(a[2:]), a[4], a[5], ErrUnsupported)
	}
	return a, nil
}

func (a ARP) Op() ARPOp            { return ARPOp(binary.BigEndian.Uint16(a[6:])) }
func (a ARP) SenderMAC() MAC       { return MAC(a[8:14]) }
func (a ARP) SenderIP() netip.Addr { return netip.AddrFrom4([4]byte(a[14:18])) }
func (a ARP) TargetMAC() MAC       { return MAC(a[18:24]) }
func (a ARP) TargetIP() netip.Addr { return netip.AddrFrom4([4]byte(a[24:28])) }

// ARPFields describes an Ethernet/IPv4 ARP packet to encode.
type ARPFields struct {
	Op        ARPOp
	SenderMAC MAC
	SenderIP  netip.Addr
	TargetMAC MAC
	TargetIP  netip.Addr
}

// Encode writes the 28-byte packet into b[:ARPLen].
func (f *ARPFields) Encode(b []byte) {
	_ = b[ARPLen-1]
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], uint16(EtherTypeIPv4))
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], uint16(f.Op))
	copy(b[8:14], f.SenderMAC[:])
	s := f.SenderIP.As4()
	copy(b[14:18], s[:])
	copy(b[18:24], f.TargetMAC[:])
	t := f.TargetIP.As4()
	copy(b[24:28], t[:])
}
