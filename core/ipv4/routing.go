package ipv4

import (
	"fmt"
	"net/netip"
	"syscall"
)

// NextHop returns the address whose hardware address a packet to dst must
// be sent to: dst itself when it is on-link, else the gateway (RFC 1122
// §3.3.1.1).
func NextHop(local netip.Prefix, gateway, dst netip.Addr) (netip.Addr, error) {
	if !dst.Is4() {
		return netip.Addr{}, fmt.Errorf("ipv4: next hop for %v: not an IPv4 address: %w", dst, syscall.EHOSTUNREACH)
	}
	// RFC 1122 §3.3.1.1: a destination on the connected network is sent
	// to directly; the limited broadcast never leaves the link.
	if local.Contains(dst) || dst == limitedBroadcast {
		return dst, nil
	}
	if gateway.Is4() && !gateway.IsUnspecified() {
		return gateway, nil
	}
	return netip.Addr{}, fmt.Errorf("ipv4: no route to %v: %w", dst, syscall.EHOSTUNREACH)
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// IsBroadcast reports whether a is the limited broadcast address or the
// directed broadcast of local's subnet (RFC 919, RFC 922).
func IsBroadcast(local netip.Prefix, a netip.Addr) bool {
	if a == limitedBroadcast {
		return true
	}
	if !a.Is4() || !local.Addr().Is4() || local.Bits() >= 31 || !local.Contains(a) {
		// A /31 has no broadcast address (RFC 3021); a /32 is one host.
		return false
	}
	hostBits := 32 - local.Bits()
	v := a.As4()
	u := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	mask := uint32(1)<<hostBits - 1
	return u&mask == mask
}
