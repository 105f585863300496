package stack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/tcp"
	"github.com/microtcp/microtcp/core/wire"
)

// loopbackAddr is the source of connections to 127.0.0.0/8.
var loopbackAddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// inputTCP checks a segment and hands it to the engine.
func (s *Stack) inputTCP(ip wire.IPv4, broadcast bool) {
	// RFC 1122 4.2.3.10: a SYN to a broadcast or multicast address is
	// silently discarded; TCP has no use for any other such segment.
	if broadcast {
		s.stats.TCP.NotUnicast++
		return
	}
	seg, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		if errors.Is(err, wire.ErrTruncated) {
			s.stats.TCP.Truncated++
		} else {
			s.stats.TCP.BadHeader++
		}
		return
	}
	src, dst := ip.Src(), ip.Dst()
	// RFC 9293 §3.10.7 (and RFC 1122 4.2.2.7): a segment whose checksum
	// over the pseudo-header fails is discarded.
	if !seg.ChecksumValid(src, dst) {
		s.stats.TCP.BadChecksum++
		return
	}
	s.stats.TCP.Delivered++
	s.tcp.Input(s.now, src, dst, seg, s.tcpOut())
}

// tcpOutput is the Stack seen as the TCP engine's Output; a named pointer
// conversion, so handing it over does not allocate.
type tcpOutput Stack

func (s *Stack) tcpOut() *tcpOutput { return (*tcpOutput)(s) }

// SendTCP builds one IPv4 packet around a segment, copying the payload
// once, and sends it through the same next-hop and ARP path as UDP. A
// segment waiting for ARP sits in ARP's pending queue; one that cannot be
// routed is dropped: retransmission covers both.
func (o *tcpOutput) SendTCP(local, remote netip.AddrPort, f *wire.TCPFields, payload []byte) {
	o.sendTCP(local, remote, f, payload, nil, 0, len(payload))
}

// sendTCP is SendTCP with the payload taken either from payload or, when
// from is not nil, from n bytes of from at off (SendTCPFrom).
func (o *tcpOutput) sendTCP(local, remote netip.AddrPort, f *wire.TCPFields, payload []byte, from tcp.PayloadSource, off, n int) {
	s := (*Stack)(o)
	src, dst := local.Addr(), remote.Addr()
	rt, err := s.route(dst)
	if err != nil || rt.kind == routeBroadcast {
		s.stats.TCP.OutNoRoute++
		return
	}
	hl := f.HeaderLen()
	frame, t := s.newPacket(hl + n)
	if from != nil {
		from.Peek(off, t[hl:])
	} else {
		copy(t[hl:], payload)
	}
	f.Encode(t, src, dst)
	hdr := wire.IPv4Fields{
		TotalLen: len(frame) - s.linkHdr,
		ID:       s.nextID(),
		// RFC 1191 §3: TCP sends with DF set to discover the path MTU;
		// the engine lowers its MSS on "fragmentation needed".
		DontFragment: true,
		TTL:          DefaultTTL,
		Protocol:     wire.ProtoTCP,
		Src:          src,
		Dst:          dst,
	}
	if hdr.TotalLen <= s.cfg.MTU || rt.kind == routeLocal {
		hdr.Encode(frame[s.linkHdr:])
		s.transmit(frame, rt)
		return
	}
	// Only an MTU below the engine's smallest MSS gets here: fragment
	// rather than never getting through (RFC 791 §2.3).
	hdr.DontFragment = false
	_, _ = s.fragment(hdr, frame, rt)
}

// finish ends every entry point: it delivers the packets we sent to
// ourselves and tells TCP about next hops that ARP gave up on.
func (s *Stack) finish() {
	s.resumeOutput()
	s.drainLoop()
	if len(s.unreachable) == 0 || s.closed {
		return
	}
	for i := 0; i < len(s.unreachable); i++ {
		ip := s.unreachable[i]
		err := fmt.Errorf("stack: %v did not answer ARP: %w", ip, syscall.EHOSTUNREACH)
		s.tcp.FailSynSent(func(remote netip.Addr) bool {
			nh, err := ipv4.NextHop(s.cfg.Addr, s.cfg.Gateway, remote)
			return err == nil && nh == ip
		}, err)
	}
	clear(s.unreachable)
	s.unreachable = s.unreachable[:0]
}

// tcpICMPError hands an ICMP error quoting one of our TCP segments to the
// engine, which checks the quoted sequence number (RFC 5927 §4.1).
func (s *Stack) tcpICMPError(m wire.ICMPv4, kind tcp.ICMPError) {
	q, err := ipv4.ParseQuoted(m.Payload())
	// RFC 792 quotes 8 bytes of the transport header: ports and sequence.
	if err != nil || q.Protocol != wire.ProtoTCP || len(q.Transport) < 8 || q.Src != s.addr && !q.Src.IsLoopback() {
		return
	}
	t := wire.TCP(q.Transport)
	local := netip.AddrPortFrom(q.Src, t.SrcPort())
	remote := netip.AddrPortFrom(q.Dst, t.DstPort())
	mtu := 0
	if kind == tcp.ICMPFragmentationNeeded {
		mtu = m.NextHopMTU()
	}
	s.tcp.HandleICMP(s.now, local, remote, t.Seq(), kind, mtu, s.tcpOut())
}

// enter starts a TCP user call.
func (s *Stack) enter(now time.Time, op string) error {
	if s.closed {
		return fmt.Errorf("stack: tcp %s: %w", op, net.ErrClosed)
	}
	s.now = now
	return nil
}

// localTCPAddr checks a local address for a TCP socket: unspecified, ours
// or loopback.
func (s *Stack) localTCPAddr(a netip.Addr) (netip.Addr, error) {
	a = a.Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified():
		return netip.IPv4Unspecified(), nil
	case a == s.addr || (a.Is4() && a.IsLoopback()):
		return a, nil
	}
	return a, fmt.Errorf("stack: bind %v: not a local address: %w", a, syscall.EADDRNOTAVAIL)
}

// ListenTCP opens a TCP listener (RFC 9293 §3.10.1 passive OPEN). Port 0
// picks an ephemeral port; an unspecified address listens on every local
// address. backlog bounds the accept queue (0 = the engine's default).
// Errors wrap syscall.EADDRINUSE, EADDRNOTAVAIL or net.ErrClosed.
func (s *Stack) ListenTCP(local netip.AddrPort, backlog int) (*TCPListener, error) {
	if s.closed {
		return nil, fmt.Errorf("stack: listen tcp: %w", net.ErrClosed)
	}
	a, err := s.localTCPAddr(local.Addr())
	if err != nil {
		return nil, err
	}
	port := local.Port()
	if port == 0 {
		if port, err = s.tcp.ListenPort(a); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	l, err := s.tcp.Listen(netip.AddrPortFrom(a, port), backlog)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	return &TCPListener{s: s, l: l}, nil
}

// ConnectTCP starts an active open to remote and sends the SYN. A zero
// local address picks ours (127.0.0.1 for a loopback remote), port 0 an
// ephemeral port. Errors wrap syscall.EHOSTUNREACH (no route, or the next
// hop just failed ARP), EACCES (a broadcast remote), EADDRNOTAVAIL,
// EADDRINUSE, EINVAL, EAFNOSUPPORT or net.ErrClosed.
func (s *Stack) ConnectTCP(now time.Time, local, remote netip.AddrPort) (*TCPConn, error) {
	if err := s.enter(now, "connect"); err != nil {
		return nil, err
	}
	ra := remote.Addr().Unmap()
	if !ra.Is4() {
		return nil, fmt.Errorf("stack: connect %v: not an IPv4 address: %w", remote, syscall.EAFNOSUPPORT)
	}
	remote = netip.AddrPortFrom(ra, remote.Port())
	la, err := s.localTCPAddr(local.Addr())
	if err != nil {
		return nil, err
	}
	if la.IsUnspecified() {
		la = s.addr
		if ra.IsLoopback() {
			la = loopbackAddr
		}
	}
	rt, err := s.route(ra)
	if err != nil {
		return nil, err
	}
	if rt.kind == routeBroadcast {
		// Linux refuses connect(2) to a broadcast address with EACCES.
		return nil, fmt.Errorf("stack: connect %v: broadcast address: %w", remote, syscall.EACCES)
	}
	c, err := s.tcp.Connect(now, netip.AddrPortFrom(la, local.Port()), remote, s.tcpOut())
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s.finish()
	return &TCPConn{s: s, c: c}, nil
}

// TCPListener is a listening TCP socket. Like the Stack, it is not safe
// for concurrent use.
type TCPListener struct {
	s *Stack
	l *tcp.Listener
}

// Addr is the address the listener is bound to.
func (l *TCPListener) Addr() netip.AddrPort { return l.l.Addr() }

// SetWaker registers f, called (under the driver's lock, without
// blocking) when a connection is ready to accept and on Close.
func (l *TCPListener) SetWaker(f func()) { l.l.SetWaker(f) }

// Accept returns the next established connection, or false when none is
// ready or the listener is closed.
func (l *TCPListener) Accept() (*TCPConn, bool) {
	if l.s.closed || l.l.Closed() {
		return nil, false
	}
	c, ok := l.l.Accept()
	if !ok {
		return nil, false
	}
	return &TCPConn{s: l.s, c: c}, true
}

// Closed reports whether the listener or its stack was closed.
func (l *TCPListener) Closed() bool { return l.s.closed || l.l.Closed() }

// Close stops listening and resets the connections nobody accepted.
func (l *TCPListener) Close(now time.Time) {
	if l.s.enter(now, "close") != nil {
		return
	}
	l.l.Close(now, l.s.tcpOut())
	l.s.finish()
}

// TCPConn is one TCP connection: the engine's Conn with the stack as its
// Output, so callers never handle one. Like the Stack, it is not safe for
// concurrent use. After Stack.Close every call fails with net.ErrClosed.
type TCPConn struct {
	s *Stack
	c *tcp.Conn
}

// LocalAddr and RemoteAddr are the connection's endpoints.
func (c *TCPConn) LocalAddr() netip.AddrPort  { return c.c.LocalAddr() }
func (c *TCPConn) RemoteAddr() netip.AddrPort { return c.c.RemoteAddr() }

// State is the RFC 9293 state.
func (c *TCPConn) State() tcp.State { return c.c.State() }

// Established reports whether the opening handshake completed.
func (c *TCPConn) Established() bool { return c.c.Established() }

// Err is why the connection failed (wrapping ECONNREFUSED, ECONNRESET,
// ETIMEDOUT, EHOSTUNREACH or ECONNABORTED), or nil.
func (c *TCPConn) Err() error { return c.c.Err() }

// Readable and Writable report whether Read or Write would make progress
// or fail now; always true once the stack is closed.
func (c *TCPConn) Readable() bool { return c.s.closed || c.c.Readable() }
func (c *TCPConn) Writable() bool { return c.s.closed || c.c.Writable() }

// SetWakers registers the readiness callbacks; they run under the driver's
// lock and must not block.
func (c *TCPConn) SetWakers(readable, writable func()) { c.c.SetWakers(readable, writable) }

// SetNoDelay switches Nagle's algorithm off when on is true.
func (c *TCPConn) SetNoDelay(on bool) { c.c.SetNoDelay(on) }

// SetKeepAlive turns keepalive on or off; zero durations or count keep the
// configured values.
func (c *TCPConn) SetKeepAlive(now time.Time, on bool, idle, interval time.Duration, count int) {
	if c.s.enter(now, "keepalive") != nil {
		return
	}
	c.c.SetKeepAlive(now, on, idle, interval, count)
	c.s.finish()
}

// Read copies received bytes into p: (0, nil) when nothing is ready, io.EOF
// after the peer's FIN.
func (c *TCPConn) Read(now time.Time, p []byte) (int, error) {
	if err := c.s.enter(now, "read"); err != nil {
		return 0, err
	}
	n, err := c.c.Read(now, p, c.s.tcpOut())
	c.s.finish()
	return n, err
}

// Write queues what fits of p: (0, nil) when the send buffer is full.
func (c *TCPConn) Write(now time.Time, p []byte) (int, error) {
	if err := c.s.enter(now, "write"); err != nil {
		return 0, err
	}
	n, err := c.c.Write(now, p, c.s.tcpOut())
	c.s.finish()
	return n, err
}

// CloseWrite sends a FIN after the queued bytes; reading continues.
func (c *TCPConn) CloseWrite(now time.Time) error {
	if err := c.s.enter(now, "close write"); err != nil {
		return err
	}
	err := c.c.CloseWrite(now, c.s.tcpOut())
	c.s.finish()
	return err
}

// Close is the full close: FIN after the queued bytes, finished by the
// stack's timers, or RST when received data was never read (RFC 1122
// 4.2.2.13). After Stack.Close it does nothing.
func (c *TCPConn) Close(now time.Time) error {
	if c.s.enter(now, "close") != nil {
		return nil
	}
	err := c.c.Close(now, c.s.tcpOut())
	c.s.finish()
	return err
}

// Abort resets the connection (RFC 9293 §3.10.5), as SO_LINGER 0 does.
func (c *TCPConn) Abort(now time.Time) {
	if c.s.enter(now, "abort") != nil {
		return
	}
	c.c.Abort(now, c.s.tcpOut())
	c.s.finish()
}
