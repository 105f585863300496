package stack

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// fixIPChecksum recomputes the header checksum after a test edited the header.
func fixIPChecksum(ip []byte) []byte {
	hl := int(ip[0]&0xf) * 4
	if hl > len(ip) || hl < wire.IPv4HeaderLen {
		return ip
	}
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip[:hl]))
	return ip
}

type inputCase struct {
	name    string
	frame   []byte
	counter func(Stats) uint64
}

// inputCases are frames for stack A (192.0.2.1, macA) with a UDP socket on
// port 9000; each must bump exactly the named counter.
func inputCases() []inputCase {
	remote := netip.AddrPortFrom(addrB, 4000)
	us := netip.AddrPortFrom(addrA, 9000)
	toA := func(ip []byte) []byte { return ethFrame(macB, macA, wire.EtherTypeIPv4, ip) }
	edit := func(ip []byte, f func(ip []byte)) []byte { f(ip); return fixIPChecksum(ip) }
	validUDP := func() []byte { return udpPacket(remote, us, []byte("payload")) }
	arpReq := func() []byte {
		b := make([]byte, wire.ARPLen)
		f := wire.ARPFields{Op: wire.ARPRequest, SenderMAC: macB, SenderIP: addrB, TargetIP: addrA}
		f.Encode(b)
		return b
	}
	return []inputCase{
		{"empty frame", nil, func(s Stats) uint64 { return s.Link.Truncated }},
		{"13-byte frame", make([]byte, 13), func(s Stats) uint64 { return s.Link.Truncated }},
		{"other MAC", ethFrame(macB, wire.MAC{2, 9, 9, 9, 9, 9}, wire.EtherTypeIPv4, validUDP()), func(s Stats) uint64 { return s.Link.NotForUs }},
		{"multicast MAC", ethFrame(macB, wire.MAC{1, 0, 0x5e, 0, 0, 1}, wire.EtherTypeIPv4, validUDP()), func(s Stats) uint64 { return s.Link.NotForUs }},
		{"IPv6 ethertype", ethFrame(macB, macA, wire.EtherTypeIPv6, make([]byte, 40)), func(s Stats) uint64 { return s.Link.UnknownEtherType }},
		{"ARP truncated", ethFrame(macB, macA, wire.EtherTypeARP, arpReq()[:20]), func(s Stats) uint64 { return s.ARP.Truncated }},
		{"ARP other hardware", ethFrame(macB, macA, wire.EtherTypeARP, func() []byte { b := arpReq(); b[1] = 6; return b }()), func(s Stats) uint64 { return s.ARP.Unsupported }},
		{"ARP request", ethFrame(macB, wire.BroadcastMAC, wire.EtherTypeARP, arpReq()), func(s Stats) uint64 { return s.ARP.In }},
		{"IPv4 10 bytes", toA(make([]byte, 10)), func(s Stats) uint64 { return s.IPv4.Truncated }},
		{"IPv4 total length beyond frame", toA(edit(validUDP(), func(ip []byte) { binary.BigEndian.PutUint16(ip[2:], 200) })), func(s Stats) uint64 { return s.IPv4.Truncated }},
		{"IPv4 version 6", toA(edit(validUDP(), func(ip []byte) { ip[0] = 0x65 })), func(s Stats) uint64 { return s.IPv4.BadVersion }},
		{"IPv4 IHL 4", toA(edit(validUDP(), func(ip []byte) { ip[0] = 0x44 })), func(s Stats) uint64 { return s.IPv4.BadHeader }},
		{"IPv4 total length below header", toA(edit(validUDP(), func(ip []byte) { binary.BigEndian.PutUint16(ip[2:], 12) })), func(s Stats) uint64 { return s.IPv4.BadHeader }},
		{"IPv4 bad checksum", toA(func() []byte { ip := validUDP(); ip[11] ^= 0xff; return ip }()), func(s Stats) uint64 { return s.IPv4.BadChecksum }},
		{"IPv4 source broadcast", toA(udpPacket(netip.MustParseAddrPort("255.255.255.255:1"), us, nil)), func(s Stats) uint64 { return s.IPv4.BadSource }},
		{"IPv4 source subnet broadcast", toA(udpPacket(netip.MustParseAddrPort("192.0.2.255:1"), us, nil)), func(s Stats) uint64 { return s.IPv4.BadSource }},
		{"IPv4 source multicast", toA(udpPacket(netip.MustParseAddrPort("224.0.0.1:1"), us, nil)), func(s Stats) uint64 { return s.IPv4.BadSource }},
		{"IPv4 source is us", toA(udpPacket(netip.AddrPortFrom(addrA, 1), us, nil)), func(s Stats) uint64 { return s.IPv4.BadSource }},
		{"IPv4 for another host", toA(udpPacket(remote, netip.MustParseAddrPort("192.0.2.3:9000"), nil)), func(s Stats) uint64 { return s.IPv4.NotForUs }},
		{"unknown protocol", toA(ipPacket(99, addrB, addrA, []byte("?"))), func(s Stats) uint64 { return s.IPv4.UnknownProtocol }},
		{"TCP data offset 0", toA(ipPacket(wire.ProtoTCP, addrB, addrA, make([]byte, 20))), func(s Stats) uint64 { return s.TCP.BadHeader }},
		{"TCP 10 bytes", toA(ipPacket(wire.ProtoTCP, addrB, addrA, make([]byte, 10))), func(s Stats) uint64 { return s.TCP.Truncated }},
		{"TCP bad checksum", toA(edit(tcpPacket(remote, us, wire.FlagSYN, nil), func(ip []byte) { ip[wire.IPv4HeaderLen+16] ^= 0xff })), func(s Stats) uint64 { return s.TCP.BadChecksum }},
		{"TCP to broadcast", toA(tcpPacket(remote, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.255"), us.Port()), wire.FlagSYN, nil)), func(s Stats) uint64 { return s.TCP.NotUnicast }},
		{"TCP SYN to closed port", toA(tcpPacket(remote, us, wire.FlagSYN, nil)), func(s Stats) uint64 { return s.TCP.Delivered }},
		{"first fragment", toA(edit(udpPacket(remote, us, make([]byte, 16)), func(ip []byte) { ip[6] = 0x20 })), func(s Stats) uint64 { return s.IPv4.FragmentsHeld }},
		{"fragment not a multiple of 8", toA(edit(udpPacket(remote, us, make([]byte, 3)), func(ip []byte) { ip[6] = 0x20 })), func(s Stats) uint64 { return s.IPv4.ReassemblyFails }},
		{"ICMP 4 bytes", toA(ipPacket(wire.ProtoICMP, addrB, addrA, make([]byte, 4))), func(s Stats) uint64 { return s.ICMP.Truncated }},
		{"ICMP bad checksum", toA(func() []byte {
			ip := icmpPacket(addrB, addrA, wire.ICMPEchoRequest, 0, 1, nil)
			ip[wire.IPv4HeaderLen+2] ^= 1
			return ip
		}()), func(s Stats) uint64 { return s.ICMP.BadChecksum }},
		{"ICMP unknown type", toA(icmpPacket(addrB, addrA, 42, 0, 0, nil)), func(s Stats) uint64 { return s.ICMP.InOther }},
		{"ICMP unreachable quoting garbage", toA(icmpPacket(addrB, addrA, wire.ICMPDestUnreachable, 3, 0, []byte{1, 2, 3})), func(s Stats) uint64 { return s.ICMP.InDestUnreachs }},
		{"ICMP echo reply for nobody", toA(icmpPacket(addrB, addrA, wire.ICMPEchoReply, 0, 0x12340001, nil)), func(s Stats) uint64 { return s.ICMP.InEchoNoSocket }},
		{"UDP 4 bytes", toA(ipPacket(wire.ProtoUDP, addrB, addrA, make([]byte, 4))), func(s Stats) uint64 { return s.UDP.Truncated }},
		{"UDP length 4", toA(func() []byte {
			ip := validUDP()
			binary.BigEndian.PutUint16(ip[wire.IPv4HeaderLen+4:], 4)
			return ip
		}()), func(s Stats) uint64 { return s.UDP.BadLength }},
		{"UDP length beyond packet", toA(func() []byte {
			ip := validUDP()
			binary.BigEndian.PutUint16(ip[wire.IPv4HeaderLen+4:], 100)
			return ip
		}()), func(s Stats) uint64 { return s.UDP.Truncated }},
		{"UDP bad checksum", toA(func() []byte { ip := validUDP(); ip[len(ip)-1] ^= 1; return ip }()), func(s Stats) uint64 { return s.UDP.BadChecksum }},
		{"UDP zero checksum", toA(func() []byte {
			ip := validUDP()
			ip[wire.IPv4HeaderLen+6], ip[wire.IPv4HeaderLen+7] = 0, 0
			return ip
		}()), func(s Stats) uint64 { return s.UDP.InDatagrams }},
		{"UDP closed port", toA(udpPacket(remote, netip.AddrPortFrom(addrA, 9), nil)), func(s Stats) uint64 { return s.UDP.NoPorts }},
		{"UDP valid", toA(validUDP()), func(s Stats) uint64 { return s.UDP.InDatagrams }},
		{"UDP with Ethernet padding", append(toA(validUDP()), make([]byte, 10)...), func(s Stats) uint64 { return s.UDP.InDatagrams }},
		{"UDP to subnet broadcast", ethFrame(macB, wire.BroadcastMAC, wire.EtherTypeIPv4, udpPacket(remote, netip.MustParseAddrPort("192.0.2.255:9000"), nil)), func(s Stats) uint64 { return s.UDP.InDatagrams }},
	}
}

func newTarget(t testing.TB) (*Stack, *UDPSocket) {
	s, err := New(config(macA, addrA), epoch)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.OpenUDP(netip.MustParseAddrPort("0.0.0.0:9000"))
	if err != nil {
		t.Fatal(err)
	}
	return s, u
}

func TestMalformedFrames(t *testing.T) {
	for _, tc := range inputCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTarget(t)
			before := s.Stats()
			s.Input(epoch, tc.frame)
			after := s.Stats()
			if got := tc.counter(after) - tc.counter(before); got != 1 {
				t.Errorf("counter moved by %d, want 1", got)
			}
			if got := terminals(after) - terminals(before); got != 1 {
				t.Errorf("%d terminal counters moved, want exactly 1: %+v", got, after)
			}
			checkInvariant(t, tc.name, after)
		})
	}
}

func TestLinkIPMalformed(t *testing.T) {
	c := config(wire.MAC{}, addrA)
	c.LinkType = LinkIP
	s, err := New(c, epoch)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]byte{nil, {0x45}, append([]byte{0x60}, make([]byte, 19)...), ipPacket(99, addrB, addrA, nil)} {
		s.Input(epoch, f)
	}
	st := s.Stats()
	if st.IPv4.Truncated != 2 || st.IPv4.BadVersion != 1 || st.IPv4.UnknownProtocol != 1 {
		t.Fatalf("LinkIP counters %+v", st.IPv4)
	}
	checkInvariant(t, "linkip", st)
}

func FuzzStackInput(f *testing.F) {
	for _, tc := range inputCases() {
		f.Add(tc.frame, false)
	}
	f.Add(udpPacket(netip.AddrPortFrom(addrB, 1), netip.AddrPortFrom(addrA, 9000), []byte("x")), true)
	syn := tcpPacket(netip.AddrPortFrom(addrB, 4000), netip.AddrPortFrom(addrA, 80), wire.FlagSYN, nil)
	f.Add(syn, true)
	f.Add(ethFrame(macB, macA, wire.EtherTypeIPv4, syn), false)
	f.Add(ethFrame(macB, macA, wire.EtherTypeIPv4, tcpPacket(netip.AddrPortFrom(addrB, 4000), netip.AddrPortFrom(addrA, 80), wire.FlagACK|wire.FlagPSH, []byte("GET / HTTP/1.1\r\n"))), false)
	f.Fuzz(func(t *testing.T, frame []byte, linkIP bool) {
		c := config(macA, addrA)
		if linkIP {
			c.LinkType = LinkIP
		}
		s, err := New(c, epoch)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.OpenUDP(netip.MustParseAddrPort("0.0.0.0:9000"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), 0); err != nil {
			t.Fatal(err)
		}
		s.Input(epoch, frame)
		// The same frame again, and cut at every tenth length, exercise
		// reassembly and duplicate paths.
		s.Input(epoch, frame)
		for n := 0; n < len(frame); n += 10 {
			s.Input(epoch, frame[:n])
		}
		s.Poll(epoch.Add(time.Minute))
		checkInvariant(t, "fuzz", s.Stats())
		buf := make([]byte, 70000)
		for {
			if _, _, ok := u.ReadFrom(buf); !ok {
				break
			}
		}
		for _, out := range s.TakeFrames(nil) {
			if linkIP {
				if _, err := wire.ParseIPv4(out); err != nil {
					t.Fatalf("stack sent a bad packet: %v", err)
				}
			} else if _, err := wire.ParseEthernet(out); err != nil {
				t.Fatalf("stack sent a bad frame: %v", err)
			}
		}
	})
}
