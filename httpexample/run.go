package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/link"
	"github.com/microtcp/microtcp/tap"
)

// endpoints tells the caller of run where to reach what it set up.
type endpoints struct {
	URL  string // the HTTP(S) server, e.g. http://127.0.0.1:8080/
	Echo string // TCP echo as host:port; "" without -echo
}

// run builds the stacks, serves until ctx ends and then shuts everything
// down gracefully, returning nil. ready (may be nil) is called once
// everything accepts connections. Every goroutine run starts has returned
// by the time run returns.
func run(ctx context.Context, o options, ready func(endpoints)) (err error) {
	o, err = o.check()
	if err != nil {
		return err
	}
	logger := log.New(o.Out, "", log.LstdFlags)

	// Undo in reverse order whatever was set up, on every return path.
	var undo []func()
	defer func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}()

	srv, err := newServerSide(o)
	if err != nil {
		return err
	}
	undo = append(undo, srv.close)

	httpAddr := netip.AddrPortFrom(o.Addr.Addr(), uint16(o.Port))
	ln, err := srv.stack.Listen("tcp", httpAddr.String())
	if err != nil {
		return fmt.Errorf("HTTP server: %w", err)
	}
	hs := &http.Server{
		Handler:           newHandler(o.Addr, srv.stack.Stats, o.Dir),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          logger,
	}
	var fingerprint string
	if o.TLS {
		cert, fp, err := selfSigned(certIPs(o), time.Now())
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		fingerprint = fp
	}
	fatal := make(chan error, 8) // room for every serving goroutine
	serveDone := make(chan struct{})
	go func() {
		defer close(serveDone)
		var err error
		if o.TLS {
			err = hs.ServeTLS(ln, "", "")
		} else {
			err = hs.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			fatal <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	// Shutdown happens on every path from here on, so it is registered
	// now; it must run before the stacks close (registered earlier).
	var fwds []*forwarder
	var echo *echoServers
	undo = append(undo, func() {
		for _, f := range fwds {
			f.ln.Close() // no new connections while the old ones finish
		}
		sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			logger.Printf("graceful shutdown: %v; closing the remaining connections", err)
			hs.Close()
		}
		<-serveDone
		for _, f := range fwds {
			f.close()
		}
		if echo != nil {
			echo.close()
		}
	})

	if o.Echo {
		echo, err = startEcho(srv.stack, fatal)
		if err != nil {
			return err
		}
	}

	ep := endpoints{URL: serverURL(o.TLS, httpAddr)}
	if srv.edge != nil {
		d := microtcp.Dialer{Stack: srv.edge}
		f, err := startForwarder(o.Listen, d.DialContext, httpAddr.String(), logger, o.Verbose, fatal)
		if err != nil {
			return err
		}
		fwds = append(fwds, f)
		ep.URL = serverURL(o.TLS, reachable(f.ln.Addr()))
		if o.Echo {
			target := netip.AddrPortFrom(o.Addr.Addr(), echoPort).String()
			f, err := startForwarder(o.EchoListen, d.DialContext, target, logger, o.Verbose, fatal)
			if err != nil {
				return err
			}
			fwds = append(fwds, f)
			ep.Echo = reachable(f.ln.Addr()).String()
		}
	} else if o.Echo {
		ep.Echo = netip.AddrPortFrom(o.Addr.Addr(), echoPort).String()
	}

	printBanner(o, srv, fwds, ep, fingerprint)
	if ready != nil {
		ready(ep)
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(o.Out, "shutting down")
		return nil
	case err := <-fatal:
		return err
	}
}

// serverSide is the server stack, its link and, in pipe mode, the edge
// stack on the other end of the pipe.
type serverSide struct {
	stack   *microtcp.Stack
	edge    *microtcp.Stack // nil in TAP/TUN mode
	device  string          // interface name in TAP/TUN mode
	capture *os.File        // nil without -pcap
}

func newServerSide(o options) (_ *serverSide, err error) {
	s := &serverSide{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	cfg := microtcp.Config{Addr: o.Addr}
	var srvLink, edgeLink microtcp.Link
	pcapType := link.LinkTypeEthernet
	switch o.mode() {
	case modePipe:
		a, b := link.Pipe()
		srvLink, edgeLink = a, b
	case modeTAP, modeTUN:
		tc := tap.Config{Name: o.device(), HostAddr: o.HostAddr}
		if o.mode() == modeTUN {
			tc.Mode = tap.TUN
			cfg.LinkType = microtcp.LinkIP
			pcapType = link.LinkTypeRaw
		}
		dev, err := tap.Open(tc)
		if err != nil {
			return nil, err // tap says what is missing and how to get it
		}
		srvLink, s.device = dev, dev.Name()
	}
	if o.Pcap != "" {
		f, err := os.Create(o.Pcap)
		if err != nil {
			srvLink.Close()
			closeLink(edgeLink)
			return nil, fmt.Errorf("-pcap: %w", err)
		}
		s.capture = f
		c, err := link.NewCapture(srvLink, f, link.CaptureConfig{LinkType: pcapType})
		if err != nil {
			srvLink.Close()
			closeLink(edgeLink)
			return nil, fmt.Errorf("-pcap: %w", err)
		}
		srvLink = c
	}
	s.stack, err = microtcp.NewStack(srvLink, cfg)
	if err != nil {
		srvLink.Close()
		closeLink(edgeLink)
		return nil, fmt.Errorf("server stack: %w", err)
	}
	if edgeLink != nil {
		s.edge, err = microtcp.NewStack(edgeLink, microtcp.Config{Addr: o.EdgeAddr})
		if err != nil {
			edgeLink.Close()
			return nil, fmt.Errorf("edge stack: %w", err)
		}
	}
	return s, nil
}

func closeLink(l microtcp.Link) {
	if l != nil {
		l.Close()
	}
}

// close closes the stacks (which close their links) and then the capture
// file, which nothing writes to any more.
func (s *serverSide) close() {
	if s.edge != nil {
		s.edge.Close()
	}
	if s.stack != nil {
		s.stack.Close()
	}
	if s.capture != nil {
		s.capture.Close()
	}
}

func startForwarder(listen string, dial dialFunc, target string, logger *log.Logger, verbose bool, fatal chan<- error) (*forwarder, error) {
	kln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("forwarder: %w", err)
	}
	f := newForwarder(kln, dial, target, logger, verbose)
	go func() {
		if err := f.serve(); err != nil {
			fatal <- err
		}
	}()
	return f, nil
}

// echoServers are the TCP and UDP echo services of -echo.
type echoServers struct {
	ln    net.Listener
	pc    net.PacketConn
	conns tracker
	done  chan struct{} // closed when both serving goroutines returned
}

func startEcho(st *microtcp.Stack, fatal chan<- error) (*echoServers, error) {
	ln, err := st.Listen("tcp", ":"+strconv.Itoa(echoPort))
	if err != nil {
		return nil, fmt.Errorf("TCP echo: %w", err)
	}
	pc, err := st.ListenPacket("udp", ":"+strconv.Itoa(echoPort))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("UDP echo: %w", err)
	}
	e := &echoServers{ln: ln, pc: pc, done: make(chan struct{})}
	tcpDone := make(chan struct{})
	go func() {
		defer close(tcpDone)
		if err := serveTCPEcho(ln, &e.conns); err != nil {
			fatal <- err
		}
	}()
	go func() {
		defer close(e.done)
		if err := serveUDPEcho(pc); err != nil {
			fatal <- err
		}
		<-tcpDone
	}()
	return e, nil
}

func (e *echoServers) close() {
	e.ln.Close()
	e.pc.Close()
	<-e.done
	e.conns.closeAll()
}

// certIPs are the addresses a client may name the server by.
func certIPs(o options) []netip.Addr {
	ips := []netip.Addr{o.Addr.Addr()}
	if o.mode() == modePipe {
		if ap, err := netip.ParseAddrPort(o.Listen); err == nil && !ap.Addr().IsUnspecified() {
			ips = append(ips, ap.Addr())
		} else {
			ips = append(ips, netip.MustParseAddr("127.0.0.1"))
		}
	}
	return ips
}

// reachable is a kernel listener's address as a client would name it:
// a listener on all addresses is reached through loopback.
func reachable(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return netip.AddrPortFrom(ip, ap.Port())
}

// serverURL is the URL to give curl for a server at ap; the port is left
// out when it is the scheme's default.
func serverURL(useTLS bool, ap netip.AddrPort) string {
	scheme, std := "http", uint16(80)
	if useTLS {
		scheme, std = "https", 443
	}
	if ap.Port() == std {
		return scheme + "://" + ap.Addr().String() + "/"
	}
	return scheme + "://" + ap.String() + "/"
}
