package main

import (
	"fmt"
	"strings"
)

// printBanner tells the user what run set up and how to try it.
func printBanner(o options, srv *serverSide, fwds []*forwarder, ep endpoints, fingerprint string) {
	var b strings.Builder
	scheme := "HTTP"
	if o.TLS {
		scheme = "HTTPS"
	}
	fmt.Fprintf(&b, "microtcp httpexample: an %s server whose TCP/IP is microtcp's\n", scheme)
	switch o.mode() {
	case modePipe:
		fmt.Fprintf(&b, "  server stack  %v, %s on port %d, link.Pipe to the edge stack\n", o.Addr, scheme, o.Port)
		fmt.Fprintf(&b, "  edge stack    %v, the other end of the pipe\n", o.EdgeAddr)
		fmt.Fprintf(&b, "  forwarder     %v (a kernel socket) -> edge stack -> %v:%d\n", fwds[0].ln.Addr(), o.Addr.Addr(), o.Port)
	default:
		kind := "TAP (Ethernet frames)"
		if o.mode() == modeTUN {
			kind = "TUN (IP packets)"
		}
		fmt.Fprintf(&b, "  device        %s, %s; host side %v\n", srv.device, kind, o.HostAddr)
		fmt.Fprintf(&b, "  server stack  %v, %s on port %d\n", o.Addr, scheme, o.Port)
	}
	if o.Dir != "" {
		fmt.Fprintf(&b, "  serving       files from %s\n", o.Dir)
	} else {
		fmt.Fprintf(&b, "  serving       a page of live counters; /stats is the same as JSON\n")
	}
	if fingerprint != "" {
		fmt.Fprintf(&b, "  certificate   self-signed ECDSA P-256, SHA-256 %s\n", fingerprint)
	}
	if o.Pcap != "" {
		fmt.Fprintf(&b, "  capture       %s (every frame of the server stack's link; open it in Wireshark)\n", o.Pcap)
	}
	if o.Echo {
		if o.mode() == modePipe {
			fmt.Fprintf(&b, "  echo          TCP and UDP port %d on %v; TCP relayed from %s\n", echoPort, o.Addr.Addr(), ep.Echo)
		} else {
			fmt.Fprintf(&b, "  echo          TCP and UDP %s\n", ep.Echo)
		}
	}
	curl := "curl"
	if o.TLS {
		curl = "curl -k"
	}
	fmt.Fprintf(&b, "Try it:\n")
	if o.mode() != modePipe {
		fmt.Fprintf(&b, "  ping -c 3 %v\n", o.Addr.Addr())
	}
	fmt.Fprintf(&b, "  %s %s\n", curl, ep.URL)
	fmt.Fprintf(&b, "  %s %sstats\n", curl, ep.URL)
	fmt.Fprintf(&b, "  head -c 1000000 /dev/urandom | %s --data-binary @- %ssha256\n", curl, ep.URL)
	if o.Echo {
		host, port, _ := strings.Cut(ep.Echo, ":")
		fmt.Fprintf(&b, "  nc %s %s   (type a line, it comes back)\n", host, port)
		if o.mode() != modePipe {
			fmt.Fprintf(&b, "  nc -u %s %s\n", host, port)
		}
	}
	fmt.Fprintf(&b, "Ctrl-C stops it.\n")
	fmt.Fprint(o.Out, b.String())
}
