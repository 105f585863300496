// Command httpexample runs an HTTP server whose TCP/IP is microtcp's.
//
// Without flags (no root needed) it builds two microtcp stacks joined by an
// in-memory link.Pipe: the server stack (10.0.0.4) runs net/http, and a
// forwarder listening on the kernel socket 127.0.0.1:8080 relays every
// connection through the edge stack (10.0.0.5) to it, so that
//
//	curl http://127.0.0.1:8080/
//
// is answered entirely over microtcp's TCP. With -tap NAME (or -tun NAME)
// and root, the server stack sits on a TAP (TUN) device instead and the
// host reaches it directly: curl http://10.0.0.4/.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpexample:", err)
		os.Exit(2)
	}
	o.Out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, o, nil); err != nil {
		fmt.Fprintln(os.Stderr, "httpexample:", err)
		os.Exit(1)
	}
}

// parseFlags turns the command line into options.
func parseFlags(args []string) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("httpexample", flag.ContinueOnError)
	fs.StringVar(&o.Listen, "listen", o.Listen, "kernel address of the forwarder (pipe mode)")
	fs.StringVar(&o.EchoListen, "echo-listen", o.EchoListen, "kernel address relayed to TCP echo (pipe mode with -echo)")
	prefix(fs, &o.Addr, "addr", "the server stack's address")
	prefix(fs, &o.EdgeAddr, "edge-addr", "the edge stack's address (pipe mode)")
	prefix(fs, &o.HostAddr, "host-addr", "the host side's address (-tap/-tun mode)")
	fs.IntVar(&o.Port, "port", 0, "HTTP port on the server stack (default 80, or 443 with -tls)")
	fs.StringVar(&o.Tap, "tap", "", "put the server stack on this TAP device (needs root)")
	fs.StringVar(&o.Tun, "tun", "", "put the server stack on this TUN device (needs root)")
	fs.StringVar(&o.Dir, "dir", "", "serve the files in this directory instead of the counters page")
	fs.BoolVar(&o.TLS, "tls", false, "serve HTTPS with a self-signed certificate made at start")
	fs.StringVar(&o.Pcap, "pcap", "", "write every frame of the server stack's link to this pcap file")
	fs.BoolVar(&o.Echo, "echo", false, "also run TCP and UDP echo on port 7 of the server stack")
	fs.BoolVar(&o.Verbose, "v", false, "log every forwarded connection")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (all settings are flags; see -h)", fs.Arg(0))
	}
	if o.Tap != "" || o.Tun != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, name := range []string{"listen", "echo-listen", "edge-addr"} {
			if set[name] {
				return o, fmt.Errorf("-%s is for pipe mode; with -tap or -tun the host reaches the stack directly", name)
			}
		}
	}
	return o, nil
}

// prefix defines a flag holding an address with its prefix length.
func prefix(fs *flag.FlagSet, p *netip.Prefix, name, usage string) {
	fs.Func(name, fmt.Sprintf("%s (default %v)", usage, *p), func(s string) error {
		v, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("want an address with prefix length, e.g. 10.0.0.4/24: %w", err)
		}
		*p = v
		return nil
	})
}
