package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

var (
	macA  = wire.MAC{0x02, 0, 0, 0, 0, 0xa}
	macB  = wire.MAC{0x02, 0, 0, 0, 0, 0xb}
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func config(mac wire.MAC, addr netip.Addr) Config {
	return Config{Addr: netip.PrefixFrom(addr, 24), MAC: mac, Secret: [16]byte{mac[5]}}
}

// world is two stacks wired back to back with a fake clock.
type world struct {
	t    testing.TB
	now  time.Time
	a, b *Stack
	// filter, when set, sees every frame in flight (from a when fromA) and
	// may drop it by returning false.
	filter func(fromA bool, frame []byte) bool
	// wire records every frame that crossed, for tests that count them.
	log []logged
}

type logged struct {
	at    time.Time
	fromA bool
	frame []byte
}

func newWorld(t testing.TB, mutate func(a, b *Config)) *world {
	t.Helper()
	ca, cb := config(macA, addrA), config(macB, addrB)
	if mutate != nil {
		mutate(&ca, &cb)
	}
	w := &world{t: t, now: epoch}
	var err error
	if w.a, err = New(ca, w.now); err != nil {
		t.Fatal(err)
	}
	if w.b, err = New(cb, w.now); err != nil {
		t.Fatal(err)
	}
	return w
}

// settle moves frames both ways until none is left, without moving time.
func (w *world) settle() {
	w.t.Helper()
	for range 10000 {
		fa := w.a.TakeFrames(nil)
		fb := w.b.TakeFrames(nil)
		if len(fa) == 0 && len(fb) == 0 {
			return
		}
		w.deliver(true, fa, w.b)
		w.deliver(false, fb, w.a)
	}
	w.t.Fatal("frames still flowing after 10000 rounds")
}

func (w *world) deliver(fromA bool, frames [][]byte, to *Stack) {
	for _, f := range frames {
		w.log = append(w.log, logged{w.now, fromA, f})
		if w.filter != nil && !w.filter(fromA, f) {
			continue
		}
		to.Input(w.now, f)
	}
}

// run settles, then jumps the clock to the next deadline and polls, until
// no timer is pending or limit is reached.
func (w *world) run(limit time.Duration) {
	w.t.Helper()
	end := w.now.Add(limit)
	for range 100000 {
		w.settle()
		d := earliest(w.a.NextDeadline(), w.b.NextDeadline())
		if d.IsZero() || d.After(end) {
			return
		}
		if d.After(w.now) {
			w.now = d
		}
		w.a.Poll(w.now)
		w.b.Poll(w.now)
	}
	w.t.Fatal("timers still firing after 100000 rounds")
}

// checkInvariant asserts that every frame that came in ended in exactly one
// terminal counter.
func checkInvariant(t testing.TB, name string, st Stats) {
	t.Helper()
	in, term := st.Link.FramesIn+st.IPv4.LoopbackIn, terminals(st)
	if in != term {
		t.Errorf("%s: frames in %d (+loopback) != terminal counters %d: %+v", name, in, term, st)
	}
}

func terminals(st Stats) uint64 {
	return st.Link.Truncated + st.Link.NotForUs + st.Link.UnknownEtherType +
		st.ARP.In + st.ARP.Truncated + st.ARP.Unsupported +
		st.IPv4.Truncated + st.IPv4.BadVersion + st.IPv4.BadHeader + st.IPv4.BadChecksum +
		st.IPv4.BadSource + st.IPv4.NotForUs + st.IPv4.FragmentsHeld + st.IPv4.ReassemblyFails +
		st.IPv4.UnknownProtocol +
		st.ICMP.InMsgs + st.ICMP.Truncated + st.ICMP.BadChecksum +
		st.UDP.InDatagrams + st.UDP.NoPorts + st.UDP.Truncated + st.UDP.BadLength +
		st.UDP.BadChecksum + st.UDP.RcvbufErrors +
		st.TCP.Delivered + st.TCP.Truncated + st.TCP.BadHeader + st.TCP.BadChecksum + st.TCP.NotUnicast
}

// ipPacket builds an IPv4 packet around a transport part.
func ipPacket(proto wire.IPProtocol, src, dst netip.Addr, transport []byte) []byte {
	b := make([]byte, wire.IPv4HeaderLen+len(transport))
	copy(b[wire.IPv4HeaderLen:], transport)
	h := wire.IPv4Fields{TotalLen: len(b), ID: 77, TTL: 64, Protocol: proto, Src: src, Dst: dst}
	h.Encode(b)
	return b
}

func udpPacket(src, dst netip.AddrPort, payload []byte) []byte {
	u := make([]byte, wire.UDPHeaderLen+len(payload))
	copy(u[wire.UDPHeaderLen:], payload)
	h := wire.UDPFields{SrcPort: src.Port(), DstPort: dst.Port()}
	h.Encode(u, src.Addr(), dst.Addr())
	return ipPacket(wire.ProtoUDP, src.Addr(), dst.Addr(), u)
}

// tcpPacket builds an IPv4 packet around a TCP segment with a valid
// checksum.
func tcpPacket(src, dst netip.AddrPort, flags wire.TCPFlags, payload []byte) []byte {
	h := wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: 1000, Flags: flags, Window: 65535}
	t := make([]byte, h.HeaderLen()+len(payload))
	copy(t[h.HeaderLen():], payload)
	h.Encode(t, src.Addr(), dst.Addr())
	return ipPacket(wire.ProtoTCP, src.Addr(), dst.Addr(), t)
}

func icmpPacket(src, dst netip.Addr, typ wire.ICMPv4Type, code uint8, rest uint32, body []byte) []byte {
	m := make([]byte, wire.ICMPv4HeaderLen+len(body))
	copy(m[wire.ICMPv4HeaderLen:], body)
	h := wire.ICMPv4Fields{Type: typ, Code: code, Rest: rest}
	h.Encode(m)
	return ipPacket(wire.ProtoICMP, src, dst, m)
}

func ethFrame(src, dst wire.MAC, typ wire.EtherType, payload []byte) []byte {
	b := make([]byte, wire.EthernetHeaderLen+len(payload))
	h := wire.EthernetFields{Dst: dst, Src: src, EtherType: typ}
	h.Encode(b)
	copy(b[wire.EthernetHeaderLen:], payload)
	return b
}

func mustUDP(t *testing.T, s *Stack, local string) *UDPSocket {
	t.Helper()
	u, err := s.OpenUDP(netip.MustParseAddrPort(local))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// counter counts calls of a waker.
type counter int

func (c *counter) fn() func() { return func() { *c++ } }

func pattern(n, salt int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + salt)
	}
	return b
}
