package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"
)

// options is everything run needs; main.go fills it from the command line
// and the tests fill it directly.
type options struct {
	Listen     string       // forwarder's kernel address (pipe mode), e.g. 127.0.0.1:8080
	EchoListen string       // kernel address relayed to TCP echo (pipe mode with Echo)
	Addr       netip.Prefix // the server stack's address
	EdgeAddr   netip.Prefix // the edge stack's address (pipe mode)
	HostAddr   netip.Prefix // the host side of the TAP/TUN device
	Port       int          // HTTP port on the server stack; 0 = 80, or 443 with TLS
	Tap        string       // TAP device name; "" = pipe mode unless Tun is set
	Tun        string       // TUN device name
	Dir        string       // serve these files instead of the built-in page
	TLS        bool         // HTTPS with a self-signed certificate
	Pcap       string       // capture the server stack's frames to this file
	Echo       bool         // TCP and UDP echo on port 7 of the server stack
	Verbose    bool         // log each forwarded connection

	// ShutdownTimeout bounds the graceful part of the shutdown [5s].
	ShutdownTimeout time.Duration
	// Out receives what was set up and how to try it; nil = io.Discard.
	Out io.Writer
}

// defaultOptions are the command line's defaults.
func defaultOptions() options {
	return options{
		Listen:     "127.0.0.1:8080",
		EchoListen: "127.0.0.1:8007",
		Addr:       netip.MustParsePrefix("10.0.0.4/24"),
		EdgeAddr:   netip.MustParsePrefix("10.0.0.5/24"),
		HostAddr:   netip.MustParsePrefix("10.0.0.5/24"),
	}
}

// echoPort is the echo service's well-known port (RFC 862).
const echoPort = 7

// mode is how the server stack reaches the outside world.
type mode int

const (
	modePipe mode = iota // link.Pipe to an edge stack, kernel forwarder
	modeTAP
	modeTUN
)

func (o options) mode() mode {
	switch {
	case o.Tap != "":
		return modeTAP
	case o.Tun != "":
		return modeTUN
	}
	return modePipe
}

// device is the TAP or TUN interface name, whichever is set.
func (o options) device() string {
	if o.Tap != "" {
		return o.Tap
	}
	return o.Tun
}

// check fills defaults and rejects combinations that cannot work, saying
// what to change.
func (o options) check() (options, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	if o.Port == 0 {
		o.Port = 80
		if o.TLS {
			o.Port = 443
		}
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("-port %d is not a TCP port", o.Port)
	}
	if o.Dir != "" {
		// Checked now: http.FileServer would answer 404 for everything.
		if fi, err := os.Stat(o.Dir); err != nil {
			return o, fmt.Errorf("-dir: %w", err)
		} else if !fi.IsDir() {
			return o, fmt.Errorf("-dir %s is not a directory", o.Dir)
		}
	}
	if o.Tap != "" && o.Tun != "" {
		return o, errors.New("-tap and -tun exclude each other: choose one device")
	}
	if !o.Addr.IsValid() || !o.Addr.Addr().Is4() {
		return o, fmt.Errorf("-addr %v: want an IPv4 prefix such as 10.0.0.4/24", o.Addr)
	}
	switch o.mode() {
	case modePipe:
		if o.Listen == "" {
			return o, errors.New("-listen is empty: the forwarder needs a kernel address such as 127.0.0.1:8080")
		}
		if err := sameSubnet("-edge-addr", o.EdgeAddr, o.Addr); err != nil {
			return o, err
		}
	default:
		if err := sameSubnet("-host-addr", o.HostAddr, o.Addr); err != nil {
			return o, err
		}
	}
	return o, nil
}

// sameSubnet checks that peer is another host on addr's subnet, which is
// what the two ends of one link need to reach each other without a router.
func sameSubnet(flag string, peer, addr netip.Prefix) error {
	if !peer.IsValid() || !peer.Addr().Is4() {
		return fmt.Errorf("%s %v: want an IPv4 prefix such as 10.0.0.5/24", flag, peer)
	}
	if peer.Addr() == addr.Addr() {
		return fmt.Errorf("%s %v and -addr %v are the same host: give them different addresses", flag, peer.Addr(), addr.Addr())
	}
	if !peer.Masked().Contains(addr.Addr()) || !addr.Masked().Contains(peer.Addr()) {
		return fmt.Errorf("%s %v and -addr %v are not on one subnet, so they cannot reach each other", flag, peer, addr)
	}
	return nil
}
