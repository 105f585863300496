package netconn

import (
	"net"
	"net/netip"
)

// AddrPortOf converts an address given as a net.Addr: a *net.UDPAddr or
// *net.TCPAddr, or
// any net.Addr whose String is an IPv4 "ip:port" literal. IPv4-mapped IPv6
// addresses are unmapped; other IPv6 addresses are refused because the
// stack is IPv4 only.
func AddrPortOf(addr net.Addr) (netip.AddrPort, error) {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case nil:
		return netip.AddrPort{}, &net.AddrError{Err: "missing address"}
	case *net.TCPAddr:
		if a == nil {
			return netip.AddrPort{}, &net.AddrError{Err: "missing address"}
		}
		if len(a.IP) == 0 {
			ap = netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(a.Port))
			break
		}
		ap = a.AddrPort()
	case *net.UDPAddr:
		if a == nil {
			return netip.AddrPort{}, &net.AddrError{Err: "missing address"}
		}
		if len(a.IP) == 0 {
			// package net reads a missing IP as "any address".
			ap = netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(a.Port))
			break
		}
		ap = a.AddrPort()
	default:
		p, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return netip.AddrPort{}, &net.AddrError{Err: "not an ip:port literal", Addr: addr.String()}
		}
		ap = p
	}
	ip := ap.Addr().Unmap()
	if !ip.Is4() {
		return netip.AddrPort{}, &net.AddrError{Err: "not an IPv4 address", Addr: addr.String()}
	}
	return netip.AddrPortFrom(ip, ap.Port()), nil
}

// udpAddr returns ap as a net.Addr, or a nil interface (never a typed nil
// pointer) when ap is the zero value, as package net does for an
// unconnected socket's RemoteAddr.
func udpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(ap)
}
