package microtcp

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/link"
)

func TestConfigValidation(t *testing.T) {
	base := func(f func(c *Config)) Config {
		c := Config{Addr: netip.MustParsePrefix("10.0.0.4/24")}
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" = valid
	}{
		{"minimal", base(func(c *Config) {}), ""},
		{"missing Addr", Config{}, "Config.Addr must be an IPv4 prefix"},
		{"IPv6 Addr", base(func(c *Config) { c.Addr = netip.MustParsePrefix("fd00::1/64") }), "Config.Addr must be an IPv4 prefix"},
		{"unspecified Addr", base(func(c *Config) { c.Addr = netip.MustParsePrefix("0.0.0.0/0") }), "not a unicast address"},
		{"multicast Addr", base(func(c *Config) { c.Addr = netip.MustParsePrefix("224.0.0.1/24") }), "not a unicast address"},
		{"gateway on link", base(func(c *Config) { c.Gateway = netip.MustParseAddr("10.0.0.1") }), ""},
		{"gateway off link", base(func(c *Config) { c.Gateway = netip.MustParseAddr("10.0.1.1") }), "not another host of subnet"},
		{"gateway is us", base(func(c *Config) { c.Gateway = netip.MustParseAddr("10.0.0.4") }), "not another host of subnet"},
		{"gateway IPv6", base(func(c *Config) { c.Gateway = netip.MustParseAddr("fd00::1") }), "not an IPv4 address"},
		{"MAC ok", base(func(c *Config) { c.MAC = net.HardwareAddr{2, 0, 0, 0, 0, 1} }), ""},
		{"MAC short", base(func(c *Config) { c.MAC = net.HardwareAddr{2, 0, 0} }), "has 3 bytes, Ethernet needs 6"},
		{"MAC multicast", base(func(c *Config) { c.MAC = net.HardwareAddr{1, 0, 0x5e, 0, 0, 1} }), "group address"},
		{"MAC zero", base(func(c *Config) { c.MAC = make(net.HardwareAddr, 6) }), "all zeros"},
		{"MAC with LinkIP", base(func(c *Config) { c.LinkType = LinkIP; c.MAC = net.HardwareAddr{2, 0, 0, 0, 0, 1} }), "LinkIP"},
		{"LinkIP", base(func(c *Config) { c.LinkType = LinkIP }), ""},
		{"unknown LinkType", base(func(c *Config) { c.LinkType = 7 }), "LinkType(7) is unknown"},
		{"MTU 68", base(func(c *Config) { c.MTU = 68 }), ""},
		{"MTU 67", base(func(c *Config) { c.MTU = 67 }), "below the IPv4 minimum of 68"},
		{"MTU negative", base(func(c *Config) { c.MTU = -1 }), "below the IPv4 minimum"},
		{"MTU 65536", base(func(c *Config) { c.MTU = 65536 }), "above the IPv4 maximum"},
		{"negative UDP buffer", base(func(c *Config) { c.UDPReceiveBuffer = -1 }), "UDPReceiveBuffer -1 is negative"},
		{"max TCP buffers", base(func(c *Config) { c.MaxTCPSendBuffer, c.MaxTCPReceiveBuffer = 8<<20, 1<<20 }), ""},
		{"negative max send buffer", base(func(c *Config) { c.MaxTCPSendBuffer = -1 }), "MaxTCPSendBuffer -1 and MaxTCPReceiveBuffer 0 must not be negative"},
		{"negative max receive buffer", base(func(c *Config) { c.MaxTCPReceiveBuffer = -5 }), "MaxTCPReceiveBuffer -5 must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			la, lb := link.Pipe()
			defer lb.Close()
			s, err := NewStack(la, tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewStack: %v", err)
				}
				if s.Addr() != tt.cfg.Addr {
					t.Fatalf("Addr = %v, want %v", s.Addr(), tt.cfg.Addr)
				}
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("NewStack accepted %+v, want error containing %q", tt.cfg, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "microtcp: ") {
				t.Fatalf("error %q, want \"microtcp: …%s…\"", err, tt.wantErr)
			}
			la.Close()
		})
	}
}

// TestConfigMaxTCPBuffers checks that the growth limits reach the engine's
// configuration, where the window scale and send-buffer tuning read them.
func TestConfigMaxTCPBuffers(t *testing.T) {
	c := Config{Addr: netip.MustParsePrefix("10.0.0.4/24"), MaxTCPSendBuffer: 8 << 20, MaxTCPReceiveBuffer: 1 << 20}
	sc, err := c.stackConfig()
	if err != nil {
		t.Fatalf("stackConfig: %v", err)
	}
	if sc.TCP.MaxSendBuffer != 8<<20 || sc.TCP.MaxReceiveBuffer != 1<<20 {
		t.Fatalf("TCP MaxSendBuffer %d, MaxReceiveBuffer %d; want %d, %d", sc.TCP.MaxSendBuffer, sc.TCP.MaxReceiveBuffer, 8<<20, 1<<20)
	}
}

func TestNewStackNilLink(t *testing.T) {
	_, err := NewStack(nil, Config{Addr: netip.MustParsePrefix("10.0.0.4/24")})
	if err == nil || !strings.Contains(err.Error(), "nil") {
		t.Fatalf("NewStack(nil) = %v, want an error about the nil link", err)
	}
}

func TestRandomMACIsUnicastLocal(t *testing.T) {
	for range 32 {
		sc, err := Config{Addr: netip.MustParsePrefix("10.0.0.4/24")}.stackConfig()
		if err != nil {
			t.Fatal(err)
		}
		if sc.MAC[0]&1 != 0 || sc.MAC[0]&2 == 0 {
			t.Fatalf("MAC %v: want unicast, locally administered", sc.MAC)
		}
		if sc.Secret == ([16]byte{}) {
			t.Fatal("Secret left zero")
		}
		if sc.MTU != 1500 || sc.LinkType != stack.LinkEthernet {
			t.Fatalf("defaults: MTU %d LinkType %v", sc.MTU, sc.LinkType)
		}
	}
}
