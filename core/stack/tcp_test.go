package stack

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/tcp"
	"github.com/microtcp/microtcp/core/wire"
)

// tcpOf returns the TCP segment inside an Ethernet frame carrying IPv4, or
// nil.
func tcpOf(frame []byte) (wire.IPv4, wire.TCP) {
	eth, err := wire.ParseEthernet(frame)
	if err != nil || eth.EtherType() != wire.EtherTypeIPv4 {
		return nil, nil
	}
	ip, err := wire.ParseIPv4(eth.Payload())
	if err != nil || ip.Protocol() != wire.ProtoTCP {
		return nil, nil
	}
	seg, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		return nil, nil
	}
	return ip, seg
}

// connected returns a world whose A has an established connection to a
// listener on B port 80, and both ends.
func connected(t *testing.T, w *world) (ca, cb *TCPConn) {
	t.Helper()
	l, err := w.b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var acceptable counter
	l.SetWaker(acceptable.fn())
	ca, err = w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	w.settle()
	cb, ok := l.Accept()
	if !ok || acceptable == 0 {
		t.Fatalf("nothing to accept (waker %d)", acceptable)
	}
	if !ca.Established() || !cb.Established() {
		t.Fatalf("states %v / %v, want both ESTABLISHED", ca.State(), cb.State())
	}
	if cb.RemoteAddr() != ca.LocalAddr() || cb.LocalAddr() != netip.AddrPortFrom(addrB, 80) {
		t.Fatalf("addresses: A %v→%v, B %v→%v", ca.LocalAddr(), ca.RemoteAddr(), cb.LocalAddr(), cb.RemoteAddr())
	}
	return ca, cb
}

// transfer writes data on from and reads it on to, moving the world's
// clock, until all of it arrived.
func transfer(t *testing.T, w *world, from, to *TCPConn, data []byte) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 7000)
	sent := 0
	for range 100000 {
		if sent < len(data) {
			n, err := from.Write(w.now, data[sent:])
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			sent += n
		}
		w.settle()
		for {
			n, err := to.Read(w.now, buf)
			if err != nil {
				t.Fatalf("Read after %d bytes: %v", len(got), err)
			}
			if n == 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		if len(got) == len(data) {
			return got
		}
		if d := earliest(w.a.NextDeadline(), w.b.NextDeadline()); !d.IsZero() && d.After(w.now) {
			w.now = d
		}
		w.a.Poll(w.now)
		w.b.Poll(w.now)
	}
	t.Fatalf("transfer stuck at %d of %d bytes", len(got), len(data))
	return nil
}

func TestTCPHandshakeAndDataBothWays(t *testing.T) {
	w := resolved(t, nil)
	ca, cb := connected(t, w)
	up := pattern(300_000, 1)
	if got := transfer(t, w, ca, cb, up); !bytes.Equal(got, up) {
		t.Fatal("A→B bytes differ")
	}
	down := pattern(123_457, 2)
	if got := transfer(t, w, cb, ca, down); !bytes.Equal(got, down) {
		t.Fatal("B→A bytes differ")
	}
	// Orderly close from both sides: EOF on each, then TIME-WAIT ends.
	if err := ca.Close(w.now); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if n, err := cb.Read(w.now, make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("B Read after A's FIN: %d, %v, want io.EOF", n, err)
	}
	if err := cb.Close(w.now); err != nil {
		t.Fatal(err)
	}
	w.run(5 * time.Minute)
	if ca.State() != tcp.StateClosed || cb.State() != tcp.StateClosed {
		t.Fatalf("states %v / %v after close, want CLOSED", ca.State(), cb.State())
	}
	if !w.a.NextDeadline().IsZero() || !w.b.NextDeadline().IsZero() {
		t.Fatalf("timers still pending after TIME-WAIT: %v / %v", w.a.NextDeadline(), w.b.NextDeadline())
	}
	st := w.a.Stats()
	if st.TCP.Delivered == 0 || st.TCP.SegmentsIn != st.TCP.Delivered || st.TCP.SegmentsOut == 0 {
		t.Fatalf("A TCP stats: %+v", st.TCP)
	}
	checkInvariant(t, "A", st)
	checkInvariant(t, "B", w.b.Stats())
}

func TestTCPSegmentsSetDFAndFitTheMTU(t *testing.T) {
	w := resolved(t, func(a, b *Config) { a.MTU, b.MTU = 1000, 1000 })
	ca, cb := connected(t, w)
	data := pattern(50_000, 3)
	if got := transfer(t, w, ca, cb, data); !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
	segs := 0
	for _, l := range w.log {
		ip, seg := tcpOf(l.frame)
		if seg == nil {
			continue
		}
		segs++
		if !ip.DontFragment() {
			t.Fatalf("segment without DF: %v", seg)
		}
		if len(ip) > 1000 {
			t.Fatalf("%d-byte packet on a 1000-byte MTU", len(ip))
		}
	}
	if segs == 0 {
		t.Fatal("no TCP segment seen")
	}
}

func TestTCPResetForClosedPort(t *testing.T) {
	w := resolved(t, nil)
	c, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 81))
	if err != nil {
		t.Fatal(err)
	}
	var readable, writable counter
	c.SetWakers(readable.fn(), writable.fn())
	w.settle()
	// RFC 9293 §3.10.7.1: B answers the SYN with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>.
	var syn, rst wire.TCP
	for _, l := range w.log {
		if _, seg := tcpOf(l.frame); seg != nil {
			if l.fromA && seg.Flags() == wire.FlagSYN {
				syn = seg
			}
			if !l.fromA && seg.Flags().Has(wire.FlagRST) {
				rst = seg
			}
		}
	}
	if syn == nil || rst == nil {
		t.Fatal("no SYN and RST on the wire")
	}
	if rst.Flags() != wire.FlagRST|wire.FlagACK || rst.Seq() != 0 || rst.Ack() != syn.Seq().Add(1) {
		t.Fatalf("RST %v, want seq 0 ack %d", rst, syn.Seq().Add(1))
	}
	if !errors.Is(c.Err(), syscall.ECONNREFUSED) || c.State() != tcp.StateClosed {
		t.Fatalf("Err %v state %v, want ECONNREFUSED and CLOSED", c.Err(), c.State())
	}
	if readable == 0 || writable == 0 {
		t.Fatalf("wakers: readable %d writable %d, want both", readable, writable)
	}
}

// connectSYNDropped opens a connection from A to B:80 whose SYNs never reach
// B, and returns it in SYN-SENT with a copy of the IPv4 packet of its SYN,
// for tests that answer it with crafted ICMP errors.
func connectSYNDropped(t *testing.T) (*world, *TCPConn, wire.IPv4) {
	t.Helper()
	w := resolved(t, nil)
	var synIP []byte
	w.filter = func(fromA bool, frame []byte) bool {
		if ip, seg := tcpOf(frame); fromA && seg != nil {
			synIP = append([]byte(nil), ip...)
			return false
		}
		return true
	}
	c, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	w.settle()
	if synIP == nil {
		t.Fatal("no SYN sent")
	}
	return w, c, wire.IPv4(synIP)
}

func TestTCPICMPPortUnreachableRefuses(t *testing.T) {
	// B's SYNs never arrive; A gets an ICMP port unreachable instead.
	w, c, orig := connectSYNDropped(t)
	body := make([]byte, ipv4.ErrorLen(orig))
	n := ipv4.EncodeError(body, wire.ICMPDestUnreachable, wire.ICMPCodePortUnreachable, 0, orig)
	w.a.Input(w.now, ethFrame(macB, macA, wire.EtherTypeIPv4, ipPacket(wire.ProtoICMP, addrB, addrA, body[:n])))
	if !errors.Is(c.Err(), syscall.ECONNREFUSED) {
		t.Fatalf("Err %v, want ECONNREFUSED", c.Err())
	}
	checkInvariant(t, "A", w.a.Stats())
}

func TestTCPICMPWithWrongSequenceIgnored(t *testing.T) {
	w, c, orig := connectSYNDropped(t)
	// RFC 5927 §4.1: a quoted sequence number outside the flight is a
	// blind attack.
	seg := wire.TCP(orig[wire.IPv4HeaderLen:])
	seg[4] ^= 0x80
	body := make([]byte, ipv4.ErrorLen(orig))
	n := ipv4.EncodeError(body, wire.ICMPDestUnreachable, wire.ICMPCodePortUnreachable, 0, orig)
	w.a.Input(w.now, ethFrame(macB, macA, wire.EtherTypeIPv4, ipPacket(wire.ProtoICMP, addrB, addrA, body[:n])))
	if c.Err() != nil || c.State() != tcp.StateSynSent {
		t.Fatalf("Err %v state %v, want still SYN-SENT", c.Err(), c.State())
	}
}

func TestTCPARPFailureIsHostUnreachable(t *testing.T) {
	w := resolved(t, nil)
	ghost := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.99"), 80)
	c, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, ghost)
	if err != nil {
		t.Fatal(err)
	}
	var writable counter
	c.SetWakers(nil, writable.fn())
	start := w.now
	w.run(10 * time.Second)
	if !errors.Is(c.Err(), syscall.EHOSTUNREACH) || writable == 0 {
		t.Fatalf("Err %v (writable %d), want EHOSTUNREACH", c.Err(), writable)
	}
	// ARP gives up after three requests a second apart, long before the
	// SYN retries would.
	if took := w.now.Sub(start); took > 4*time.Second {
		t.Fatalf("failure took %v", took)
	}
	// While the failure is fresh, a new connection fails at once.
	if _, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, ghost); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("second ConnectTCP: %v, want EHOSTUNREACH", err)
	}
	checkInvariant(t, "A", w.a.Stats())
}

func TestTCPCorruptedSegmentCountedAndRecovered(t *testing.T) {
	w := resolved(t, nil)
	ca, cb := connected(t, w)
	corrupted := 0
	w.filter = func(fromA bool, frame []byte) bool {
		if _, seg := tcpOf(frame); fromA && seg != nil && len(seg.Payload()) > 0 && corrupted < 3 {
			seg.Payload()[0] ^= 0xff // the checksum no longer verifies
			corrupted++
		}
		return true
	}
	data := pattern(20_000, 4)
	if got := transfer(t, w, ca, cb, data); !bytes.Equal(got, data) {
		t.Fatal("bytes differ after retransmission")
	}
	if got := w.b.Stats().TCP.BadChecksum; got != 3 {
		t.Fatalf("B BadChecksum %d, want 3", got)
	}
	checkInvariant(t, "B", w.b.Stats())
}

func TestTCPLoopback(t *testing.T) {
	for _, target := range []string{"192.0.2.1:7", "127.0.0.1:7"} {
		t.Run(target, func(t *testing.T) {
			w := newWorld(t, nil)
			l, err := w.a.ListenTCP(netip.MustParseAddrPort("0.0.0.0:7"), 0)
			if err != nil {
				t.Fatal(err)
			}
			c, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.MustParseAddrPort(target))
			if err != nil {
				t.Fatal(err)
			}
			s, ok := l.Accept()
			if !ok || !c.Established() {
				t.Fatalf("accept %v, client %v: the handshake should finish within the call", ok, c.State())
			}
			if _, err := c.Write(w.now, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			w.run(time.Second)
			buf := make([]byte, 10)
			if n, err := s.Read(w.now, buf); err != nil || string(buf[:n]) != "hello" {
				t.Fatalf("Read %q, %v", buf[:n], err)
			}
			checkInvariant(t, "A", w.a.Stats())
		})
	}
}

func TestTCPCloseAbortsConnections(t *testing.T) {
	w := resolved(t, nil)
	ca, cb := connected(t, w)
	l2, err := w.a.ListenTCP(netip.MustParseAddrPort("0.0.0.0:0"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Addr().Port() == 0 {
		t.Fatal("port 0 was not replaced by an ephemeral port")
	}
	var readable, acceptable counter
	ca.SetWakers(readable.fn(), nil)
	l2.SetWaker(acceptable.fn())
	w.a.Close()
	if readable == 0 || acceptable == 0 {
		t.Fatalf("wakers: conn %d listener %d, want both fired", readable, acceptable)
	}
	if _, err := ca.Read(w.now, make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after stack Close: %v, want net.ErrClosed", err)
	}
	if _, ok := l2.Accept(); ok || !l2.Closed() {
		t.Fatal("listener still accepting after stack Close")
	}
	// The RST still leaves: B's end is reset.
	w.deliver(true, w.a.TakeFrames(nil), w.b)
	if _, err := cb.Read(w.now, make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("B Read after A's stack closed: %v, want ECONNRESET", err)
	}
	if _, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 80)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ConnectTCP after Close: %v, want net.ErrClosed", err)
	}
}

func TestTCPFragmentationNeededLowersSegments(t *testing.T) {
	w := resolved(t, nil)
	ca, cb := connected(t, w)
	// The first full-sized data segment meets a 576-byte link on the way.
	const pathMTU = 576
	var big []byte
	w.filter = func(fromA bool, frame []byte) bool {
		if ip, seg := tcpOf(frame); fromA && seg != nil && len(ip) > pathMTU {
			if big == nil {
				big = append([]byte(nil), ip...)
			}
			return false
		}
		return true
	}
	if _, err := ca.Write(w.now, pattern(3000, 5)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if big == nil {
		t.Fatal("no large segment sent")
	}
	body := make([]byte, ipv4.ErrorLen(wire.IPv4(big)))
	n := ipv4.EncodeError(body, wire.ICMPDestUnreachable, wire.ICMPCodeFragmentationNeeded, pathMTU, wire.IPv4(big))
	gw := netip.MustParseAddr("192.0.2.254")
	w.a.Input(w.now, ethFrame(macB, macA, wire.EtherTypeIPv4, ipPacket(wire.ProtoICMP, gw, addrA, body[:n])))
	data := pattern(3000, 5)
	var got []byte
	buf := make([]byte, 4000)
	for range 1000 {
		w.settle()
		n, err := cb.Read(w.now, buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
		if len(got) >= len(data) {
			break
		}
		w.now = earliest(w.a.NextDeadline(), w.b.NextDeadline())
		w.a.Poll(w.now)
		w.b.Poll(w.now)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want the %d sent", len(got), len(data))
	}
}

func TestTCPTinyMTUFragments(t *testing.T) {
	// Below the engine's smallest MSS (88) segments cannot fit: they go
	// out as fragments with DF clear rather than never.
	w := resolved(t, func(a, b *Config) { a.MTU, b.MTU = 100, 100 })
	if got := w.a.Config().TCP.MSS; got != minTCPMSS {
		t.Fatalf("MSS for MTU 100: %d, want %d", got, minTCPMSS)
	}
	ca, cb := connected(t, w)
	data := pattern(5000, 6)
	if got := transfer(t, w, ca, cb, data); !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
	if w.a.Stats().IPv4.FragmentsOut == 0 {
		t.Fatal("no fragments sent on a 100-byte MTU")
	}
	for _, l := range w.log {
		if eth, err := wire.ParseEthernet(l.frame); err == nil && len(eth.Payload()) > 100 {
			t.Fatalf("%d-byte packet on a 100-byte MTU", len(eth.Payload()))
		}
	}
}

func TestTCPConfigDefaults(t *testing.T) {
	s, err := New(config(macA, addrA), epoch)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.TCP.MSS != 1460 || c.TCP.Secret != c.Secret {
		t.Fatalf("TCP MSS %d, secret shared %v", c.TCP.MSS, c.TCP.Secret == c.Secret)
	}
	bad := config(macA, addrA)
	bad.TCP.CongestionControl = "vegas"
	if _, err := New(bad, epoch); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("unknown congestion control: %v, want ErrBadConfig", err)
	}
}
