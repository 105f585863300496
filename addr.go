package microtcp

import (
	"net"
	"net/netip"
	"strconv"
)

// transport maps a network name to the protocol that serves it. The stack
// is IPv4 only, so "udp6" and "tcp6" are unknown networks, like any other.
func transport(network string) (string, error) {
	switch network {
	case "udp", "udp4":
		return "udp", nil
	case "tcp", "tcp4":
		return "tcp", nil
	}
	return "", net.UnknownNetworkError(network)
}

// parseHostPort parses "host:port" where host is an IPv4 literal or empty
// (the unspecified address) and port is decimal.
func parseHostPort(address string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err // already a *net.AddrError
	}
	ip := netip.IPv4Unspecified()
	if host != "" {
		parsed, err := netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, &net.AddrError{Err: "name resolution is not supported yet; use an IP literal", Addr: host}
		}
		ip = parsed.Unmap()
		if !ip.Is4() || ip.Zone() != "" {
			return netip.AddrPort{}, &net.AddrError{Err: "not an IPv4 address", Addr: host}
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port (service names are not supported)", Addr: address}
	}
	return netip.AddrPortFrom(ip, uint16(p)), nil
}

// hostAddr returns ap as a net.Addr of the right type for the transport,
// or a nil interface for the zero value.
func hostAddr(proto string, ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	if proto == "tcp" {
		return net.TCPAddrFromAddrPort(ap)
	}
	return net.UDPAddrFromAddrPort(ap)
}
