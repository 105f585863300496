package microtcp

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string // substring of the *net.AddrError; "" = ok
	}{
		{":53", "0.0.0.0:53", ""},
		{"10.0.0.4:53", "10.0.0.4:53", ""},
		{"10.0.0.4:0", "10.0.0.4:0", ""},
		{"[::ffff:10.0.0.4]:7", "10.0.0.4:7", ""},
		{"example.com:53", "", "name resolution is not supported yet"},
		{"localhost:53", "", "name resolution is not supported yet"},
		{"[::1]:53", "", "not an IPv4 address"},
		{"10.0.0.4", "", "missing port"},
		{"10.0.0.4:domain", "", "invalid port"},
		{"10.0.0.4:65536", "", "invalid port"},
		{"10.0.0.4:-1", "", "invalid port"},
	}
	for _, tt := range tests {
		got, err := parseHostPort(tt.in)
		if tt.wantErr == "" {
			if err != nil || got.String() != tt.want {
				t.Errorf("parseHostPort(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
			continue
		}
		var ae *net.AddrError
		if !errors.As(err, &ae) || !strings.Contains(ae.Err, tt.wantErr) {
			t.Errorf("parseHostPort(%q) error %v; want *net.AddrError containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestTransport(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"udp", "udp"}, {"udp4", "udp"}, {"tcp", "tcp"}, {"tcp4", "tcp"},
		{"udp6", ""}, {"tcp6", ""}, {"ip4:icmp", ""}, {"unix", ""}, {"", ""},
	} {
		got, err := transport(tt.in)
		if tt.want == "" {
			var une net.UnknownNetworkError
			if !errors.As(err, &une) {
				t.Errorf("transport(%q) = %q, %v; want net.UnknownNetworkError", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("transport(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseHostPort: any string either parses to an IPv4 address and port
// that print back to an equivalent address, or fails with a *net.AddrError;
// it never panics.
func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{":53", "10.0.0.4:53", "[::ffff:10.0.0.4]:7", "[::1]:53", "host:80", "1.2.3.4", ":", "[", "1.2.3.4:99999", "%", "[fe80::1%eth0]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := parseHostPort(s)
		if err != nil {
			var ae *net.AddrError
			if !errors.As(err, &ae) {
				t.Fatalf("parseHostPort(%q) error %T %v, want *net.AddrError", s, err, err)
			}
			return
		}
		if !ap.Addr().Is4() {
			t.Fatalf("parseHostPort(%q) = %v, not IPv4", s, ap)
		}
		again, err := parseHostPort(ap.String())
		if err != nil || again != ap {
			t.Fatalf("round trip of %q: %v -> %v, %v", s, ap, again, err)
		}
	})
}
