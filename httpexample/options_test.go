package main

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestOptionsCheck(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name    string
		edit    func(*options)
		wantErr string // substring; "" = valid
		port    int    // expected port when valid
	}{
		{"defaults", func(o *options) {}, "", 80},
		{"tls default port", func(o *options) { o.TLS = true }, "", 443},
		{"explicit port", func(o *options) { o.Port = 8000 }, "", 8000},
		{"port out of range", func(o *options) { o.Port = 70000 }, "not a TCP port", 0},
		{"tap and tun", func(o *options) { o.Tap, o.Tun = "a", "b" }, "exclude each other", 0},
		{"no address", func(o *options) { o.Addr = netip.Prefix{} }, "-addr", 0},
		{"ipv6 address", func(o *options) { o.Addr = p("fd00::1/64") }, "-addr", 0},
		{"edge is server", func(o *options) { o.EdgeAddr = p("10.0.0.4/24") }, "same host", 0},
		{"edge elsewhere", func(o *options) { o.EdgeAddr = p("10.0.1.5/24") }, "not on one subnet", 0},
		{"no listen", func(o *options) { o.Listen = "" }, "-listen", 0},
		{"tap host elsewhere", func(o *options) { o.Tap = "t0"; o.HostAddr = p("192.0.2.1/24") }, "not on one subnet", 0},
		{"tap ignores edge", func(o *options) { o.Tap = "t0"; o.EdgeAddr = netip.Prefix{} }, "", 80},
		{"tun", func(o *options) { o.Tun = "t0"; o.Listen = "" }, "", 80},
		{"dir missing", func(o *options) { o.Dir = "/nonexistent/microtcp" }, "-dir", 0},
		{"dir is a file", func(o *options) { o.Dir = "options_test.go" }, "not a directory", 0},
		{"dir", func(o *options) { o.Dir = "." }, "", 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultOptions()
			tt.edit(&o)
			got, err := o.check()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("check() = %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("check(): %v", err)
			}
			if got.Port != tt.port || got.Out == nil || got.ShutdownTimeout <= 0 {
				t.Errorf("check() = port %d, Out %v, ShutdownTimeout %v; want port %d and defaults filled", got.Port, got.Out, got.ShutdownTimeout, tt.port)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(options) bool
	}{
		{nil, "", func(o options) bool {
			return o.Listen == "127.0.0.1:8080" && o.Addr.String() == "10.0.0.4/24" && o.mode() == modePipe
		}},
		{[]string{"-tap", "mtcp0", "-host-addr", "192.0.2.1/24", "-addr", "192.0.2.2/24"}, "",
			func(o options) bool {
				return o.Tap == "mtcp0" && o.HostAddr.String() == "192.0.2.1/24" && o.mode() == modeTAP
			}},
		{[]string{"-tun", "mtun0"}, "", func(o options) bool { return o.mode() == modeTUN && o.device() == "mtun0" }},
		{[]string{"-tls", "-echo", "-dir", "/tmp", "-pcap", "x.pcap", "-port", "8443"}, "",
			func(o options) bool {
				return o.TLS && o.Echo && o.Dir == "/tmp" && o.Pcap == "x.pcap" && o.Port == 8443
			}},
		{[]string{"-addr", "10.0.0.4"}, "prefix length", nil},
		{[]string{"-tap", "t0", "-listen", ":9"}, "pipe mode", nil},
		{[]string{"stray"}, "unexpected argument", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%q) = %v, want an error mentioning %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			if !tt.check(o) {
				t.Errorf("parseFlags(%q) = %+v", tt.args, o)
			}
		})
	}
}

func TestServerURL(t *testing.T) {
	tests := []struct {
		tls  bool
		ap   string
		want string
	}{
		{false, "10.0.0.4:80", "http://10.0.0.4/"},
		{true, "10.0.0.4:443", "https://10.0.0.4/"},
		{true, "10.0.0.4:80", "https://10.0.0.4:80/"},
		{false, "127.0.0.1:8080", "http://127.0.0.1:8080/"},
	}
	for _, tt := range tests {
		if got := serverURL(tt.tls, netip.MustParseAddrPort(tt.ap)); got != tt.want {
			t.Errorf("serverURL(%v, %s) = %s, want %s", tt.tls, tt.ap, got, tt.want)
		}
	}
	for in, want := range map[string]string{"0.0.0.0:8080": "127.0.0.1:8080", "[::]:8080": "127.0.0.1:8080", "[::ffff:127.0.0.1]:1": "127.0.0.1:1"} {
		a := net.TCPAddrFromAddrPort(netip.MustParseAddrPort(in))
		if got := reachable(a).String(); got != want {
			t.Errorf("reachable(%s) = %s, want %s", in, got, want)
		}
	}
}
