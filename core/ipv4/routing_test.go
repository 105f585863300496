package ipv4

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
)

func TestNextHop(t *testing.T) {
	gw := netip.MustParseAddr("192.168.1.1")
	tests := []struct {
		name    string
		gateway netip.Addr
		dst     string
		want    string // "" = error
	}{
		{"on-link", gw, "192.168.1.20", "192.168.1.20"},
		{"on-link no gateway", netip.Addr{}, "192.168.1.20", "192.168.1.20"},
		{"subnet broadcast is on-link", gw, "192.168.1.255", "192.168.1.255"},
		{"limited broadcast", netip.Addr{}, "255.255.255.255", "255.255.255.255"},
		{"off-link via gateway", gw, "8.8.8.8", "192.168.1.1"},
		{"off-link no gateway", netip.Addr{}, "8.8.8.8", ""},
		{"off-link unspecified gateway", netip.IPv4Unspecified(), "8.8.8.8", ""},
		{"IPv6 destination", gw, "::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextHop(local, tt.gateway, netip.MustParseAddr(tt.dst))
			if tt.want == "" {
				if !errors.Is(err, syscall.EHOSTUNREACH) {
					t.Fatalf("NextHop = %v, %v; want EHOSTUNREACH", got, err)
				}
				return
			}
			if err != nil || got != netip.MustParseAddr(tt.want) {
				t.Fatalf("NextHop = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestIsBroadcast(t *testing.T) {
	tests := []struct {
		prefix, addr string
		want         bool
	}{
		{"192.168.1.10/24", "255.255.255.255", true},
		{"192.168.1.10/24", "192.168.1.255", true},
		{"192.168.1.10/24", "192.168.1.254", false},
		{"192.168.1.10/24", "192.168.2.255", false},
		{"192.168.1.10/24", "192.168.1.0", false},
		{"10.1.2.3/8", "10.255.255.255", true},
		{"10.0.0.1/30", "10.0.0.3", true},
		{"10.0.0.0/31", "10.0.0.1", false}, // RFC 3021: no broadcast on /31
		{"10.0.0.1/32", "10.0.0.1", false},
		{"192.168.1.10/24", "224.0.0.1", false},
	}
	for _, tt := range tests {
		if got := IsBroadcast(netip.MustParsePrefix(tt.prefix), netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("IsBroadcast(%s, %s) = %v, want %v", tt.prefix, tt.addr, got, tt.want)
		}
	}
}
