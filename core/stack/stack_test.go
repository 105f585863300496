package stack

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

func TestNewValidatesConfig(t *testing.T) {
	good := config(macA, addrA)
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"no address", func(c *Config) { c.Addr = netip.Prefix{} }},
		{"ipv6", func(c *Config) { c.Addr = netip.MustParsePrefix("2001:db8::1/64") }},
		{"unspecified", func(c *Config) { c.Addr = netip.MustParsePrefix("0.0.0.0/0") }},
		{"no mac", func(c *Config) { c.MAC = wire.MAC{} }},
		{"multicast mac", func(c *Config) { c.MAC = wire.MAC{1, 0, 0x5e, 0, 0, 1} }},
		{"tiny mtu", func(c *Config) { c.MTU = 67 }},
		{"gateway off-link", func(c *Config) { c.Gateway = netip.MustParseAddr("198.51.100.1") }},
		{"link type", func(c *Config) { c.LinkType = 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			if _, err := New(c, epoch); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("New: %v, want ErrBadConfig", err)
			}
		})
	}
	c := good
	c.LinkType, c.MAC = LinkIP, wire.MAC{}
	if _, err := New(c, epoch); err != nil {
		t.Fatalf("LinkIP without MAC: %v", err)
	}
}

func TestGratuitousARPOnNew(t *testing.T) {
	s, err := New(config(macA, addrA), epoch)
	if err != nil {
		t.Fatal(err)
	}
	frames := s.TakeFrames(nil)
	if len(frames) != 1 {
		t.Fatalf("%d frames after New, want 1 announcement", len(frames))
	}
	eth, _ := wire.ParseEthernet(frames[0])
	a, err := wire.ParseARP(eth.Payload())
	if err != nil || eth.Dst() != wire.BroadcastMAC || eth.EtherType() != wire.EtherTypeARP {
		t.Fatalf("not a broadcast ARP: %x (%v)", frames[0], err)
	}
	if a.Op() != wire.ARPRequest || a.SenderIP() != addrA || a.TargetIP() != addrA || a.SenderMAC() != macA {
		t.Fatalf("announcement op %d sender %v/%v target %v, want request with sender = target = %v",
			a.Op(), a.SenderIP(), a.SenderMAC(), a.TargetIP(), addrA)
	}
	if len(s.TakeFrames(nil)) != 0 {
		t.Fatal("TakeFrames returned the same frames twice")
	}
}

func TestARPThenUDP(t *testing.T) {
	w := newWorld(t, nil)
	w.settle()
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "192.0.2.2:7")
	var aw, br counter
	ua.SetWakers(nil, aw.fn())
	ub.SetWakers(br.fn(), nil)
	dst := netip.AddrPortFrom(addrB, 7)

	err := ua.SendTo(w.now, []byte("first"), dst)
	if err != ErrResolving || !ua.Resolving() {
		t.Fatalf("first SendTo: %v resolving=%v, want ErrResolving", err, ua.Resolving())
	}
	w.settle()
	if ua.Resolving() || ua.SendResult() != nil || aw != 1 {
		t.Fatalf("after ARP: resolving=%v result=%v writable fired %d times", ua.Resolving(), ua.SendResult(), aw)
	}
	if err := ua.SendTo(w.now, []byte("second"), dst); err != nil {
		t.Fatalf("second SendTo: %v", err)
	}
	w.settle()
	if br != 1 {
		t.Fatalf("readable fired %d times, want 1", br)
	}
	buf := make([]byte, 100)
	for _, want := range []string{"first", "second"} {
		n, from, ok := ub.ReadFrom(buf)
		if !ok || string(buf[:n]) != want {
			t.Fatalf("ReadFrom = %q ok=%v, want %q", buf[:n], ok, want)
		}
		if from.Addr() != addrA || from.Port() != ua.LocalAddr().Port() {
			t.Fatalf("from %v, want %v:%d", from, addrA, ua.LocalAddr().Port())
		}
	}
	if _, _, ok := ub.ReadFrom(buf); ok || ub.Readable() {
		t.Fatal("queue not empty after two reads")
	}
	checkInvariant(t, "a", w.a.Stats())
	checkInvariant(t, "b", w.b.Stats())
	if got := w.b.Stats().UDP.InDatagrams; got != 2 {
		t.Fatalf("B InDatagrams %d, want 2", got)
	}
}

// resolved returns a world where both stacks know each other's MAC.
func resolved(t testing.TB, mutate func(a, b *Config)) *world {
	t.Helper()
	w := newWorld(t, mutate)
	e, err := w.a.OpenEcho()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Send(w.now, addrB, 0, nil); err != nil && err != ErrResolving {
		t.Fatal(err)
	}
	w.settle()
	if _, _, _, ok := e.Recv(); !ok {
		t.Fatal("warm-up ping got no reply")
	}
	e.Close()
	return w
}

func TestPingBothWays(t *testing.T) {
	w := newWorld(t, nil)
	w.settle()
	for _, dir := range []struct {
		name     string
		from, to *Stack
	}{{"a to b", w.a, w.b}, {"b to a", w.b, w.a}} {
		t.Run(dir.name, func(t *testing.T) {
			e, err := dir.from.OpenEcho()
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			var r counter
			e.SetWakers(r.fn(), nil)
			for seq := range uint16(3) {
				err := e.Send(w.now, dir.to.Addr(), seq, pattern(56, int(seq)))
				if err != nil && err != ErrResolving {
					t.Fatalf("Send %d: %v", seq, err)
				}
				w.settle()
				from, got, n, ok := e.Recv()
				if !ok || from != dir.to.Addr() || got != seq || n != 56 {
					t.Fatalf("Recv = %v seq %d len %d ok=%v, want %v seq %d len 56", from, got, n, ok, dir.to.Addr(), seq)
				}
			}
			if r != 3 {
				t.Fatalf("readable fired %d times, want 3", r)
			}
		})
	}
	if got := w.b.Stats().ICMP.InEchoRequests; got != 3 {
		t.Fatalf("B answered %d echo requests, want 3", got)
	}
	checkInvariant(t, "a", w.a.Stats())
	checkInvariant(t, "b", w.b.Stats())
}

func TestLargePingFragmented(t *testing.T) {
	w := resolved(t, nil)
	e, _ := w.a.OpenEcho()
	if err := e.Send(w.now, addrB, 9, pattern(5000, 1)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if _, seq, n, ok := e.Recv(); !ok || seq != 9 || n != 5000 {
		t.Fatalf("Recv seq %d len %d ok=%v, want seq 9 len 5000", seq, n, ok)
	}
	if st := w.b.Stats(); st.IPv4.FragmentsOut != 4 || st.IPv4.Reassembly.Reassembled != 1 {
		t.Fatalf("B fragments out %d reassembled %d, want 4 and 1", st.IPv4.FragmentsOut, st.IPv4.Reassembly.Reassembled)
	}
}

func TestFragmentedDatagram(t *testing.T) {
	w := resolved(t, nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "0.0.0.0:9000")
	start := len(w.log)
	payload := pattern(8000, 3)
	if err := ua.SendTo(w.now, payload, netip.AddrPortFrom(addrB, 9000)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	// RFC 791: 8008 bytes of UDP in 1480-byte pieces → 6 fragments.
	var offsets []int
	for _, l := range w.log[start:] {
		ip, err := wire.ParseIPv4(wire.Ethernet(l.frame).Payload())
		if err != nil {
			t.Fatal(err)
		}
		if len(l.frame) > wire.EthernetHeaderLen+1500 {
			t.Fatalf("frame of %d bytes exceeds the MTU", len(l.frame))
		}
		offsets = append(offsets, ip.FragmentOffset())
	}
	want := []int{0, 1480, 2960, 4440, 5920, 7400}
	if len(offsets) != len(want) {
		t.Fatalf("fragment offsets %v, want %v", offsets, want)
	}
	for i := range want {
		if offsets[i] != want[i] {
			t.Fatalf("fragment offsets %v, want %v", offsets, want)
		}
	}
	buf := make([]byte, 9000)
	n, _, ok := ub.ReadFrom(buf)
	if !ok || !bytes.Equal(buf[:n], payload) {
		t.Fatalf("received %d bytes ok=%v, want the 8000 sent intact", n, ok)
	}
	checkInvariant(t, "b", w.b.Stats())
}

func TestDatagramSizeSweep(t *testing.T) {
	w := resolved(t, nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "0.0.0.0:9000")
	dst := netip.AddrPortFrom(addrB, 9000)
	buf := make([]byte, 9000)
	step := 1
	if testing.Short() {
		step = 97
	}
	for size := 0; size <= 8000; size += step {
		payload := pattern(size, size)
		if err := ua.SendTo(w.now, payload, dst); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		w.settle()
		n, _, ok := ub.ReadFrom(buf)
		if !ok || !bytes.Equal(buf[:n], payload) {
			t.Fatalf("size %d: got %d bytes ok=%v, not intact", size, n, ok)
		}
	}
	checkInvariant(t, "a", w.a.Stats())
	checkInvariant(t, "b", w.b.Stats())
	if st := w.b.Stats(); st.UDP.RcvbufErrors+st.UDP.BadChecksum+st.IPv4.ReassemblyFails != 0 {
		t.Fatalf("drops during the sweep: %+v", st)
	}
}

func isARPRequestFor(frame []byte, ip netip.Addr) bool {
	eth, err := wire.ParseEthernet(frame)
	if err != nil || eth.EtherType() != wire.EtherTypeARP {
		return false
	}
	a, err := wire.ParseARP(eth.Payload())
	return err == nil && a.Op() == wire.ARPRequest && a.TargetIP() == ip
}

func TestUnknownHost(t *testing.T) {
	w := resolved(t, nil)
	ghost := netip.MustParseAddr("192.0.2.99")
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "0.0.0.0:9000")
	var writable counter
	ua.SetWakers(nil, writable.fn())
	start := w.now
	if err := ua.SendTo(w.now, []byte("lost"), netip.AddrPortFrom(ghost, 9)); err != ErrResolving {
		t.Fatalf("SendTo unknown host: %v, want ErrResolving", err)
	}
	// Other traffic keeps flowing while the ghost is being resolved; a
	// socket can send elsewhere while its earlier send still waits.
	other := mustUDP(t, w.a, "0.0.0.0:0")
	buf := make([]byte, 10)
	for i := range 3 {
		w.settle()
		if err := other.SendTo(w.now, []byte{byte(i)}, netip.AddrPortFrom(addrB, 9000)); err != nil {
			t.Fatalf("send to B while resolving: %v", err)
		}
		w.settle()
		if n, _, ok := ub.ReadFrom(buf); !ok || n != 1 || buf[0] != byte(i) {
			t.Fatalf("B did not get datagram %d while A resolved the ghost", i)
		}
		if !ua.Resolving() {
			t.Fatalf("resolution finished early at +%v", w.now.Sub(start))
		}
		w.now = w.a.NextDeadline()
		w.a.Poll(w.now)
	}
	w.run(10 * time.Second)
	if ua.Resolving() || !errors.Is(ua.SendResult(), syscall.EHOSTUNREACH) || writable != 1 {
		t.Fatalf("resolving=%v result=%v writable=%d, want EHOSTUNREACH after waking once", ua.Resolving(), ua.SendResult(), writable)
	}
	var times []time.Duration
	for _, l := range w.log {
		if l.fromA && isARPRequestFor(l.frame, ghost) {
			times = append(times, l.at.Sub(start))
		}
	}
	want := []time.Duration{0, time.Second, 2 * time.Second}
	if len(times) != 3 || times[0] != want[0] || times[1] != want[1] || times[2] != want[2] {
		t.Fatalf("ARP requests for the ghost at %v, want %v", times, want)
	}
	if got := w.a.Stats().ARP.Cache.Failed; got != 1 {
		t.Fatalf("ARP failures %d, want 1", got)
	}
	// Right after the failure, sends fail at once; later they try again.
	failedAt := start.Add(3 * time.Second)
	ghostPort := netip.AddrPortFrom(ghost, 9)
	w.now = failedAt.Add(FailedNeighbourHold - time.Millisecond)
	if err := ua.SendTo(w.now, []byte("x"), ghostPort); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("SendTo just after the failure: %v, want EHOSTUNREACH", err)
	}
	w.now = failedAt.Add(FailedNeighbourHold)
	if err := ua.SendTo(w.now, []byte("x"), ghostPort); err != ErrResolving {
		t.Fatalf("SendTo once the hold is over: %v, want ErrResolving", err)
	}
}

func TestDisconnect(t *testing.T) {
	w := resolved(t, nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "0.0.0.0:9000")
	if err := ub.Connect(netip.MustParseAddrPort("192.0.2.1:1")); err != nil {
		t.Fatal(err)
	}
	if err := ua.SendTo(w.now, []byte("filtered"), netip.AddrPortFrom(addrB, 9000)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if ub.Readable() {
		t.Fatal("connected socket accepted a datagram from another peer")
	}
	if err := ub.Connect(netip.AddrPort{}); err != nil || ub.RemoteAddr().IsValid() {
		t.Fatalf("disconnect: %v, remote %v", err, ub.RemoteAddr())
	}
	if err := ua.SendTo(w.now, []byte("open"), netip.AddrPortFrom(addrB, 9000)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if !ub.Readable() {
		t.Fatal("disconnected socket did not accept the datagram")
	}
}

func TestPortUnreachableRefusesConnectedSocket(t *testing.T) {
	w := resolved(t, nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	closed := netip.AddrPortFrom(addrB, 9)
	if err := ua.Connect(closed); err != nil {
		t.Fatal(err)
	}
	if ua.LocalAddr().Addr() != addrA {
		t.Fatalf("LocalAddr after Connect %v, want address %v", ua.LocalAddr(), addrA)
	}
	var writable counter
	ua.SetWakers(nil, writable.fn())
	if err := ua.SendTo(w.now, []byte("anyone?"), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if st := w.b.Stats(); st.UDP.NoPorts != 1 || st.ICMP.OutDestUnreachs != 1 {
		t.Fatalf("B NoPorts %d OutDestUnreachs %d, want 1 and 1", st.UDP.NoPorts, st.ICMP.OutDestUnreachs)
	}
	if writable != 1 {
		t.Fatalf("writable fired %d times on the ICMP error, want 1", writable)
	}
	if err := ua.SendTo(w.now, []byte("again"), netip.AddrPort{}); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("SendTo after port unreachable: %v, want ECONNREFUSED", err)
	}
	if err := ua.SendTo(w.now, []byte("again"), netip.AddrPort{}); err != nil {
		t.Fatalf("error reported twice: %v", err)
	}
	checkInvariant(t, "a", w.a.Stats())
	checkInvariant(t, "b", w.b.Stats())
}

func TestUnconnectedSocketIgnoresICMPErrors(t *testing.T) {
	w := resolved(t, nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	if err := ua.SendTo(w.now, []byte("x"), netip.AddrPortFrom(addrB, 9)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if err := ua.SendTo(w.now, []byte("x"), netip.AddrPortFrom(addrB, 9)); err != nil {
		t.Fatalf("unconnected socket got %v", err)
	}
}

func TestReceiveQueueOverflow(t *testing.T) {
	w := resolved(t, func(a, b *Config) { b.UDPReceiveBuffer = 1000 })
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "0.0.0.0:9000")
	for i := range 20 {
		if err := ua.SendTo(w.now, pattern(100, i), netip.AddrPortFrom(addrB, 9000)); err != nil {
			t.Fatal(err)
		}
	}
	w.settle()
	// Each record takes 8 bytes of bookkeeping plus the payload.
	const fit = 1000 / 108
	st := w.b.Stats()
	if st.UDP.InDatagrams != fit || st.UDP.RcvbufErrors != 20-fit {
		t.Fatalf("delivered %d dropped %d, want %d and %d", st.UDP.InDatagrams, st.UDP.RcvbufErrors, fit, 20-fit)
	}
	buf := make([]byte, 200)
	for i := range fit {
		n, _, ok := ub.ReadFrom(buf)
		if !ok || !bytes.Equal(buf[:n], pattern(100, i)) {
			t.Fatalf("datagram %d not intact", i)
		}
	}
	checkInvariant(t, "b", st)
}

func TestBroadcastPingIgnored(t *testing.T) {
	w := resolved(t, nil)
	e, _ := w.a.OpenEcho()
	for _, dst := range []string{"255.255.255.255", "192.0.2.255"} {
		if err := e.Send(w.now, netip.MustParseAddr(dst), 1, nil); err != nil {
			t.Fatalf("ping %s: %v", dst, err)
		}
		w.settle()
	}
	if _, _, _, ok := e.Recv(); ok {
		t.Fatal("broadcast ping answered")
	}
	if got := w.b.Stats().ICMP.InEchoBroadcast; got != 2 {
		t.Fatalf("B ignored %d broadcast pings, want 2", got)
	}
}

func TestBroadcastUDPDelivered(t *testing.T) {
	w := newWorld(t, nil)
	w.settle()
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "0.0.0.0:67")
	if err := ua.SendTo(w.now, []byte("hello all"), netip.MustParseAddrPort("255.255.255.255:67")); err != nil {
		t.Fatalf("broadcast SendTo: %v (broadcasts need no ARP)", err)
	}
	w.settle()
	buf := make([]byte, 20)
	if n, _, ok := ub.ReadFrom(buf); !ok || string(buf[:n]) != "hello all" {
		t.Fatalf("broadcast not delivered: %q ok=%v", buf[:n], ok)
	}
}

func TestICMPErrorsRateLimited(t *testing.T) {
	w := resolved(t, func(a, b *Config) { b.ICMPRateLimit, b.ICMPRateBurst = 1, 3 })
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	for range 10 {
		if err := ua.SendTo(w.now, []byte("x"), netip.AddrPortFrom(addrB, 9)); err != nil {
			t.Fatal(err)
		}
	}
	w.settle()
	st := w.b.Stats()
	if st.UDP.NoPorts != 10 || st.ICMP.OutDestUnreachs != 3 || st.ICMP.OutRateLimited != 7 {
		t.Fatalf("NoPorts %d sent %d limited %d, want 10, 3 (the burst), 7",
			st.UDP.NoPorts, st.ICMP.OutDestUnreachs, st.ICMP.OutRateLimited)
	}
	w.now = w.now.Add(time.Second)
	if err := ua.SendTo(w.now, []byte("x"), netip.AddrPortFrom(addrB, 9)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if got := w.b.Stats().ICMP.OutDestUnreachs; got != 4 {
		t.Fatalf("after a second: %d errors sent, want 4 (one token refilled)", got)
	}
}

func TestLinkIPRoundTrip(t *testing.T) {
	w := newWorld(t, func(a, b *Config) {
		a.LinkType, b.LinkType = LinkIP, LinkIP
		a.MAC, b.MAC = wire.MAC{}, wire.MAC{}
		// A TUN peer may be anywhere: no gateway needed.
		b.Addr = netip.MustParsePrefix("198.51.100.7/32")
	})
	if f := w.a.TakeFrames(nil); len(f) != 0 {
		t.Fatalf("LinkIP stack sent %d frames at start, want none", len(f))
	}
	peer := netip.MustParseAddr("198.51.100.7")
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	ub := mustUDP(t, w.b, "0.0.0.0:53")
	payload := pattern(3000, 5)
	start := len(w.log)
	if err := ua.SendTo(w.now, payload, netip.AddrPortFrom(peer, 53)); err != nil {
		t.Fatalf("SendTo over LinkIP: %v", err)
	}
	w.settle()
	for _, l := range w.log[start:] {
		if _, err := wire.ParseIPv4(l.frame); err != nil {
			t.Fatalf("LinkIP frame is not a bare IPv4 packet: %v", err)
		}
	}
	buf := make([]byte, 4000)
	n, from, ok := ub.ReadFrom(buf)
	if !ok || !bytes.Equal(buf[:n], payload) || from.Addr() != addrA {
		t.Fatalf("got %d bytes from %v ok=%v, want 3000 intact from %v", n, from, ok, addrA)
	}
	e, _ := w.b.OpenEcho()
	if err := e.Send(w.now, addrA, 4, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if from, seq, n, ok := e.Recv(); !ok || from != addrA || seq != 4 || n != 4 {
		t.Fatalf("LinkIP ping: %v %d %d %v", from, seq, n, ok)
	}
	checkInvariant(t, "a", w.a.Stats())
	checkInvariant(t, "b", w.b.Stats())
}

func TestLoopback(t *testing.T) {
	w := newWorld(t, nil)
	w.settle()
	u1 := mustUDP(t, w.a, "0.0.0.0:0")
	u2 := mustUDP(t, w.a, "192.0.2.1:5000")
	var r counter
	u2.SetWakers(r.fn(), nil)
	payload := pattern(4000, 9)
	if err := u1.SendTo(w.now, payload, netip.AddrPortFrom(addrA, 5000)); err != nil {
		t.Fatal(err)
	}
	if f := w.a.TakeFrames(nil); len(f) != 0 {
		t.Fatalf("loopback put %d frames on the wire", len(f))
	}
	buf := make([]byte, 5000)
	if n, _, ok := u2.ReadFrom(buf); !ok || !bytes.Equal(buf[:n], payload) || r != 1 {
		t.Fatalf("loopback datagram: %d bytes ok=%v woken %d", n, ok, r)
	}
	e, _ := w.a.OpenEcho()
	if err := e.Send(w.now, addrA, 1, []byte("me")); err != nil {
		t.Fatal(err)
	}
	if _, seq, _, ok := e.Recv(); !ok || seq != 1 {
		t.Fatal("ping to ourselves not answered")
	}
	// A closed local port refuses a connected socket through the loop too.
	if err := u1.Connect(netip.AddrPortFrom(addrA, 5999)); err != nil {
		t.Fatal(err)
	}
	if err := u1.SendTo(w.now, []byte("x"), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := u1.SendTo(w.now, []byte("x"), netip.AddrPort{}); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("loopback to closed port: %v, want ECONNREFUSED", err)
	}
	checkInvariant(t, "a", w.a.Stats())
}

func TestSendErrors(t *testing.T) {
	w := newWorld(t, func(a, b *Config) {})
	u := mustUDP(t, w.a, "0.0.0.0:0")
	tests := []struct {
		name    string
		payload int
		dst     string
		want    error
	}{
		{"too big", MaxUDPPayload + 1, "192.0.2.2:9", syscall.EMSGSIZE},
		{"no destination", 1, "", syscall.EDESTADDRREQ},
		{"port zero", 1, "192.0.2.2:0", syscall.EINVAL},
		{"no route", 1, "198.51.100.1:9", syscall.EHOSTUNREACH},
		{"multicast", 1, "224.0.0.1:9", syscall.EHOSTUNREACH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst netip.AddrPort
			if tt.dst != "" {
				dst = netip.MustParseAddrPort(tt.dst)
			}
			if err := u.SendTo(w.now, make([]byte, tt.payload), dst); !errors.Is(err, tt.want) {
				t.Fatalf("SendTo: %v, want %v", err, tt.want)
			}
		})
	}
	if err := u.SendTo(w.now, make([]byte, MaxUDPPayload), netip.MustParseAddrPort("192.0.2.255:9")); err != nil {
		t.Fatalf("largest datagram: %v", err)
	}
}

func TestOpenUDPErrors(t *testing.T) {
	w := newWorld(t, nil)
	mustUDP(t, w.a, "0.0.0.0:53")
	if _, err := w.a.OpenUDP(netip.MustParseAddrPort("192.0.2.1:53")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second bind of 53: %v, want EADDRINUSE", err)
	}
	if _, err := w.a.OpenUDP(netip.MustParseAddrPort("192.0.2.77:1")); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("bind to a foreign address: %v, want EADDRNOTAVAIL", err)
	}
}

func TestCloseWakesAndFails(t *testing.T) {
	w := newWorld(t, nil)
	u := mustUDP(t, w.a, "0.0.0.0:0")
	e, _ := w.a.OpenEcho()
	var ur, uw, er, ew counter
	u.SetWakers(ur.fn(), uw.fn())
	e.SetWakers(er.fn(), ew.fn())
	w.a.Close()
	if ur != 1 || uw != 1 || er != 1 || ew != 1 {
		t.Fatalf("wakers after Close: udp %d/%d echo %d/%d, want all 1", ur, uw, er, ew)
	}
	if err := u.SendTo(w.now, nil, netip.AddrPortFrom(addrB, 9)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SendTo after Close: %v", err)
	}
	if err := e.Send(w.now, addrB, 0, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if _, err := w.a.OpenUDP(netip.AddrPort{}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("OpenUDP after Close: %v", err)
	}
	if _, err := w.a.OpenEcho(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("OpenEcho after Close: %v", err)
	}
	if !w.a.NextDeadline().IsZero() {
		t.Fatal("closed stack still has a deadline")
	}
}

func TestSocketCloseFreesPort(t *testing.T) {
	w := newWorld(t, nil)
	u := mustUDP(t, w.a, "0.0.0.0:53")
	u.Close()
	u.Close()
	if _, _, ok := u.ReadFrom(make([]byte, 1)); ok {
		t.Fatal("ReadFrom on closed socket returned data")
	}
	mustUDP(t, w.a, "0.0.0.0:53")
}

func TestReassemblyTimeoutSendsTimeExceeded(t *testing.T) {
	w := resolved(t, nil)
	// Only the first fragment of an 8000-byte datagram arrives.
	first := true
	w.filter = func(fromA bool, f []byte) bool {
		ip, err := wire.ParseIPv4(wire.Ethernet(f).Payload())
		if !fromA || err != nil || !ip.IsFragment() {
			return true
		}
		keep := first
		first = false
		return keep
	}
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	mustUDP(t, w.b, "0.0.0.0:9000")
	if err := ua.SendTo(w.now, pattern(8000, 0), netip.AddrPortFrom(addrB, 9000)); err != nil {
		t.Fatal(err)
	}
	start := w.now
	w.run(time.Minute)
	if got := w.b.Stats().ICMP.OutTimeExcds; got != 1 {
		t.Fatalf("time exceeded sent %d, want 1 (after %v)", got, w.now.Sub(start))
	}
	if got := w.a.Stats().ICMP.InTimeExcds; got != 1 {
		t.Fatalf("A got %d time exceeded, want 1", got)
	}
	for _, l := range w.log {
		ip, err := wire.ParseIPv4(wire.Ethernet(l.frame).Payload())
		if l.fromA || err != nil || ip.Protocol() != wire.ProtoICMP || ip.Payload()[0] != byte(wire.ICMPTimeExceeded) {
			continue
		}
		if d := l.at.Sub(start); d != 30*time.Second {
			t.Fatalf("reassembly gave up after %v, want 30s", d)
		}
	}
	checkInvariant(t, "a", w.a.Stats())
	checkInvariant(t, "b", w.b.Stats())
}

func TestEchoUnknownHost(t *testing.T) {
	w := newWorld(t, nil)
	e, _ := w.a.OpenEcho()
	var writable counter
	e.SetWakers(nil, writable.fn())
	if err := e.Send(w.now, netip.MustParseAddr("192.0.2.99"), 1, nil); err != ErrResolving || !e.Resolving() {
		t.Fatalf("Send: %v resolving=%v, want ErrResolving", err, e.Resolving())
	}
	w.run(10 * time.Second)
	if e.Resolving() || !errors.Is(e.SendResult(), syscall.EHOSTUNREACH) || writable != 1 {
		t.Fatalf("resolving=%v result=%v writable=%d", e.Resolving(), e.SendResult(), writable)
	}
	if err := e.Send(w.now, netip.MustParseAddr("2001:db8::1"), 1, nil); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Send to IPv6: %v, want EINVAL", err)
	}
	if err := e.Send(w.now, addrB, 1, make([]byte, MaxUDPPayload+1)); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("oversized echo: %v, want EMSGSIZE", err)
	}
}

func TestNoICMPErrorForBroadcast(t *testing.T) {
	w := resolved(t, nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	if err := ua.SendTo(w.now, []byte("x"), netip.MustParseAddrPort("255.255.255.255:9")); err != nil {
		t.Fatal(err)
	}
	w.settle()
	st := w.b.Stats()
	if st.UDP.NoPorts != 1 || st.ICMP.OutDestUnreachs != 0 || st.ICMP.OutErrorsForbidden != 1 {
		t.Fatalf("NoPorts %d errors sent %d forbidden %d, want 1, 0, 1 (RFC 1122 §3.2.2)",
			st.UDP.NoPorts, st.ICMP.OutDestUnreachs, st.ICMP.OutErrorsForbidden)
	}
}

func TestOutboundFrameShape(t *testing.T) {
	w := resolved(t, nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	var ids []uint16
	for _, n := range []int{0, 1, 100, 1472} {
		if err := ua.SendTo(w.now, pattern(n, n), netip.AddrPortFrom(addrB, 9)); err != nil {
			t.Fatal(err)
		}
		frames := w.a.TakeFrames(nil)
		if len(frames) != 1 {
			t.Fatalf("%d-byte payload: %d frames, want 1", n, len(frames))
		}
		f := frames[0]
		// The buffer may be larger (frame buffers are reused, frames.go);
		// the frame is exactly the datagram.
		if want := wire.EthernetHeaderLen + wire.IPv4HeaderLen + wire.UDPHeaderLen + n; len(f) != want {
			t.Fatalf("%d-byte payload: frame len %d, want exactly %d", n, len(f), want)
		}
		eth, _ := wire.ParseEthernet(f)
		ip, err := wire.ParseIPv4(eth.Payload())
		if err != nil || !ip.ChecksumValid() || ip.TTL() != DefaultTTL || ip.DontFragment() || ip.Src() != addrA || ip.Dst() != addrB {
			t.Fatalf("bad IPv4 header %x (%v)", eth.Payload()[:20], err)
		}
		if eth.Dst() != macB || eth.Src() != macA {
			t.Fatalf("ethernet %v → %v, want %v → %v", eth.Src(), eth.Dst(), macA, macB)
		}
		u, err := wire.ParseUDP(ip.Payload())
		if err != nil || !u.ChecksumValid(addrA, addrB) || u.Checksum() == 0 || !bytes.Equal(u.Payload(), pattern(n, n)) {
			t.Fatalf("bad UDP datagram (%v)", err)
		}
		ids = append(ids, ip.ID())
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("IP IDs %v repeat", ids)
		}
	}
}
