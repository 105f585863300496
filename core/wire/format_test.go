package wire

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestTCPFlagsString(t *testing.T) {
	tests := []struct {
		f    TCPFlags
		want string
	}{
		{0, "none"},
		{FlagSYN, "S"},
		{FlagSYN | FlagACK, "S."},
		{FlagFIN | FlagACK, "F."},
		{FlagRST, "R"},
		{FlagRST | FlagACK, "R."},
		{FlagPSH | FlagACK, "P."},
		{FlagACK, "."},
		{FlagFIN | FlagPSH | FlagACK, "FP."},
		{FlagSYN | FlagECE | FlagCWR, "SEW"},
		{FlagURG | FlagACK, ".U"},
		{0xff, "FSRP.UEW"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%#02x: %q, want %q", uint8(tt.f), got, tt.want)
		}
	}
}

// TestStringGolden checks each layer of the golden frames against what
// tcpdump -e -n prints for them (field by field; tshark's summary is in
// golden_test.go).
func TestStringGolden(t *testing.T) {
	tests := []struct {
		golden      string
		eth, l3, l4 string
	}{
		{goldenArpRequest, "52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60",
			"Request who-has 10.0.0.2 tell 10.0.0.1", ""},
		{goldenArpReply, "52:54:00:ab:cd:ef > 52:54:00:12:34:56, ethertype ARP (0x0806), length 60",
			"Reply 10.0.0.2 is-at 52:54:00:ab:cd:ef", ""},
		{goldenIcmpEcho, "52:54:00:12:34:56 > 52:54:00:ab:cd:ef, ethertype IPv4 (0x0800), length 90",
			"10.0.0.1 > 10.0.0.2: ICMP, id 1234, ttl 64, flags [DF], length 76",
			"echo request, id 1, seq 2, length 56"},
		{goldenUdpDNS, "52:54:00:12:34:56 > 52:54:00:ab:cd:ef, ethertype IPv4 (0x0800), length 71",
			"10.0.0.1 > 10.0.0.2: UDP, id 7238, ttl 64, length 57",
			"53012 > 53: UDP, length 29"},
		{goldenTcpSYN, "52:54:00:12:34:56 > 52:54:00:ab:cd:ef, ethertype IPv4 (0x0800), length 74",
			"10.0.0.1 > 10.0.0.2: TCP, id 12345, ttl 64, flags [DF], length 60",
			"43210 > 80: Flags [S], seq 439041101, win 64240, options [mss 1460,sackOK,TS val 123456789 ecr 0,nop,wscale 7], length 0"},
		{goldenTcpSYNACK, "52:54:00:ab:cd:ef > 52:54:00:12:34:56, ethertype IPv4 (0x0800), length 74",
			"10.0.0.2 > 10.0.0.1: TCP, id 0, ttl 64, flags [DF], length 60",
			"80 > 43210: Flags [S.], seq 1584361601, ack 439041102, win 65160, options [mss 1460,sackOK,TS val 987654321 ecr 123456789,nop,wscale 7], length 0"},
		{goldenTcpData, "52:54:00:12:34:56 > 52:54:00:ab:cd:ef, ethertype IPv4 (0x0800), length 93",
			"10.0.0.1 > 10.0.0.2: TCP, id 12346, ttl 64, flags [DF], length 79",
			"43210 > 80: Flags [P.], seq 439041102:439041129, ack 1584361602, win 502, options [nop,nop,TS val 123456800 ecr 987654321], length 27"},
		{goldenTcpSACK, "52:54:00:ab:cd:ef > 52:54:00:12:34:56, ethertype IPv4 (0x0800), length 78",
			"10.0.0.2 > 10.0.0.1: TCP, id 1, ttl 64, flags [DF], length 64",
			"80 > 43210: Flags [.], seq 1584361602, ack 439041102, win 509, options [nop,nop,TS val 987654400 ecr 123456800,nop,nop,sack 1 {439042102:439043102}], length 0"},
	}
	for _, tt := range tests {
		b := frame(t, tt.golden)
		e, _ := ParseEthernet(b)
		if got := e.String(); got != tt.eth {
			t.Errorf("ethernet:\n got %s\nwant %s", got, tt.eth)
		}
		var l3, l4 fmt.Stringer
		want := []string{tt.eth}
		switch e.EtherType() {
		case EtherTypeARP:
			a, _ := ParseARP(e.Payload())
			l3 = a
			want = append(want, "ARP, "+tt.l3)
		case EtherTypeIPv4:
			ip, _ := ParseIPv4(e.Payload())
			l3 = ip
			switch ip.Protocol() {
			case ProtoICMP:
				l4, _ = ParseICMPv4(ip.Payload())
			case ProtoUDP:
				l4, _ = ParseUDP(ip.Payload())
			case ProtoTCP:
				l4, _ = ParseTCP(ip.Payload())
			}
			want = append(want, tt.l3, tt.l4)
		}
		if got := l3.String(); got != tt.l3 {
			t.Errorf("layer 3:\n got %s\nwant %s", got, tt.l3)
		}
		if l4 != nil && l4.String() != tt.l4 {
			t.Errorf("layer 4:\n got %s\nwant %s", l4, tt.l4)
		}
		if got := Describe(b, true); got != strings.Join(want, " | ") {
			t.Errorf("Describe:\n got %s\nwant %s", got, strings.Join(want, " | "))
		}
	}
}

func TestStringCorners(t *testing.T) {
	frag := frame(t, "4610 0028 abcd 20b9 0111 0000 0a00 0001 0a00 0002 9404 0000 0000 0000 0000 0000 0000 0000 0000 0000")
	unreach := make([]byte, 8+28)
	(&ICMPv4Fields{Type: ICMPDestUnreachable, Code: ICMPCodePortUnreachable}).Encode(unreach)
	fragNeeded := make([]byte, 8+28)
	(&ICMPv4Fields{Type: ICMPDestUnreachable, Code: ICMPCodeFragmentationNeeded, Rest: 1400}).Encode(fragNeeded)
	urg := tcpWithOptions(30, 4, 0xbe, 0xef, 0, 0, 0, 0)
	urg[13] = byte(FlagURG | FlagACK | FlagPSH)
	urg[19] = 9
	arpOp := frame(t, goldenArpReply)[14:42]
	arpOp[7] = 9
	tests := []struct {
		name string
		s    fmt.Stringer
		want string
	}{
		{"ip fragment with options", IPv4(frag), "10.0.0.1 > 10.0.0.2: UDP, id 43981, ttl 1, tos 0x10, frag off 1480, flags [MF], options 4 bytes, length 40"},
		{"ip DF+MF", IPv4(frame(t, "4500 0014 0001 6000 4006 0000 0a00 0001 0a00 0002")), "10.0.0.1 > 10.0.0.2: TCP, id 1, ttl 64, flags [DF+MF], length 20"},
		{"ip other proto", IPv4(frame(t, "4500 0014 0001 0000 4059 0000 0a00 0001 0a00 0002")), "10.0.0.1 > 10.0.0.2: proto 89, id 1, ttl 64, length 20"},
		{"port unreachable", ICMPv4(unreach), "destination unreachable, port unreachable, length 36"},
		{"frag needed", ICMPv4(fragNeeded), "destination unreachable, need to frag (mtu 1400), length 36"},
		{"time exceeded", ICMPv4([]byte{11, 0, 0, 0, 0, 0, 0, 0}), "time exceeded in-transit, length 8"},
		{"reassembly time exceeded", ICMPv4([]byte{11, 1, 0, 0, 0, 0, 0, 0}), "time exceeded reassembly, length 8"},
		{"param problem", ICMPv4([]byte{12, 0, 0, 0, 20, 0, 0, 0}), "parameter problem, pointer 20, length 8"},
		{"unknown icmp", ICMPv4([]byte{13, 0, 0, 0, 0, 0, 0, 0, 1}), "type 13, code 0, length 9"},
		{"echo reply", ICMPv4([]byte{0, 0, 0, 0, 0, 7, 0, 9}), "echo reply, id 7, seq 9, length 8"},
		{"arp other op", ARP(arpOp), "op 9, sender 10.0.0.2 (52:54:00:ab:cd:ef), target 10.0.0.1 (52:54:00:12:34:56)"},
		{"ethernet unknown type", Ethernet(frame(t, "ffff ffff ffff 0000 0000 0001 88cc")), "00:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype Unknown (0x88cc), length 14"},
		{"tcp unknown option, urg", TCP(urg), "1 > 2: Flags [P.U], seq 0, ack 0, win 0, urg 9, options [unknown-30 0xbeef,eol], length 0"},
		{"tcp bad option length", TCP(tcpWithOptions(2, 3, 1, 1)), "1 > 2: Flags [.], seq 0, ack 0, win 0, options [[bad opt kind 2 len 3],nop], length 0"},
		{"tcp unframed option", TCP(tcpWithOptions(1, 30, 9, 1)), "1 > 2: Flags [.], seq 0, ack 0, win 0, options [nop,[bad opt]], length 0"},
		{"tcp bad data offset", TCP(make([]byte, 20)), "0 > 0: tcp bad data offset 0, length 20"},
		// Views that never went through their parser must not panic.
		{"short ethernet", Ethernet(make([]byte, 3)), "ethernet truncated, length 3"},
		{"short arp", ARP(make([]byte, 27)), "arp truncated, length 27"},
		{"short ip", IPv4(make([]byte, 19)), "ip truncated, length 19"},
		{"ip header past end", IPv4(frame(t, "4f00 0014 0001 0000 4059 0000 0a00 0001 0a00 0002")), "ip truncated, length 20"},
		{"short icmp", ICMPv4(make([]byte, 7)), "icmp truncated, length 7"},
		{"short udp", UDP(nil), "udp truncated, length 0"},
		{"short tcp", TCP(make([]byte, 19)), "tcp truncated, length 19"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// ipFrame builds a raw IPv4 packet 10.0.0.1 > 10.0.0.2 around the transport
// bytes l4; edit may change the header, whose checksum is then recomputed.
func ipFrame(proto IPProtocol, l4 []byte, edit func(ip []byte)) []byte {
	ip := make([]byte, 20+len(l4))
	(&IPv4Fields{TotalLen: len(ip), ID: 1, TTL: 64, Protocol: proto, Src: ipA, Dst: ipB}).Encode(ip)
	copy(ip[20:], l4)
	if edit != nil {
		edit(ip)
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], refChecksum(ip[:20]))
	}
	return ip
}

func TestDescribe(t *testing.T) {
	corrupt := frame(t, goldenTcpData)
	corrupt[len(corrupt)-1] ^= 0x20
	// The checksum the corrupted segment should carry, by the reference formula.
	seg := corrupt[34:]
	wantTCP := refChecksum(refPseudo(ipA, ipB, ProtoTCP, len(seg)), seg[:16], seg[18:])
	badIP := frame(t, goldenUdpDNS)
	badIP[22] = 63 // ttl
	badIPWant := refChecksum(badIP[14:24], badIP[26:34])

	quote := ipFrame(ProtoUDP, []byte{0xcf, 0x14, 0, 53, 0, 8, 0, 0}, nil)
	unreach := make([]byte, 8+len(quote))
	copy(unreach[8:], quote)
	(&ICMPv4Fields{Type: ICMPDestUnreachable, Code: ICMPCodePortUnreachable}).Encode(unreach)

	tests := []struct {
		name  string
		frame []byte
		eth   bool
		want  string
	}{
		{"nil", nil, true, "error: ethernet: 0 bytes: truncated"},
		{"nil raw", nil, false, "error: ipv4: 0 bytes: truncated"},
		{"short ethernet", make([]byte, 13), true, "error: ethernet: 13 bytes: truncated"},
		{"ipv6 raw", []byte{0x60, 0, 0, 0}, false, "IPv6, length 4 (not decoded)"},
		{"lldp", frame(t, "0180 c200 000e 0000 0000 0001 88cc 0000"), true,
			"00:00:00:00:00:01 > 01:80:c2:00:00:0e, ethertype Unknown (0x88cc), length 16"},
		{"arp for ipv6", frame(t, "ffff ffff ffff 0000 0000 0001 0806 0001 86dd 0610 0001 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000"), true,
			"00:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 46 | error: arp: htype 1 ptype 0x86dd hlen 6 plen 16: unsupported"},
		{"ip version 5", []byte{0x55, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, "error: ipv4: version 5: bad IP version"},
		{"bad ip checksum", badIP, true, fmt.Sprintf(
			"52:54:00:12:34:56 > 52:54:00:ab:cd:ef, ethertype IPv4 (0x0800), length 71 | 10.0.0.1 > 10.0.0.2: UDP, id 7238, ttl 63, length 57 [bad cksum 0x4a6c (->0x%04x)!] | 53012 > 53: UDP, length 29", badIPWant)},
		{"bad tcp checksum", corrupt, true, fmt.Sprintf(
			"52:54:00:12:34:56 > 52:54:00:ab:cd:ef, ethertype IPv4 (0x0800), length 93 | 10.0.0.1 > 10.0.0.2: TCP, id 12346, ttl 64, flags [DF], length 79 | "+
				"43210 > 80: Flags [P.], seq 439041102:439041129, ack 1584361602, win 502, options [nop,nop,TS val 123456800 ecr 987654321], length 27 [bad cksum 0xc65b (->0x%04x)!]", wantTCP)},
		{"tcp data offset 4", ipFrame(ProtoTCP, []byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x10, 0, 0, 0, 0, 0, 0}, nil), false,
			"10.0.0.1 > 10.0.0.2: TCP, id 1, ttl 64, length 40 | error: tcp: data offset 16: bad length field"},
		{"tcp mss length 3", ipFrame(ProtoTCP, tcpWithOptions(2, 3, 1, 1), nil), false,
			"10.0.0.1 > 10.0.0.2: TCP, id 1, ttl 64, length 44 | 1 > 2: Flags [.], seq 0, ack 0, win 0, options [[bad opt kind 2 len 3],nop], length 0 [bad cksum 0x0000 (->0x" +
				fmt.Sprintf("%04x", refChecksum(refPseudo(ipA, ipB, ProtoTCP, 24), tcpWithOptions(2, 3, 1, 1))) + ")!] | error: tcp: option 2 length 3: malformed option"},
		{"udp no checksum", ipFrame(ProtoUDP, []byte{0, 7, 0, 9, 0, 9, 0, 0, 0xaa}, nil), false,
			"10.0.0.1 > 10.0.0.2: UDP, id 1, ttl 64, length 29 | 7 > 9: UDP, length 1 [no cksum]"},
		{"udp length 7", ipFrame(ProtoUDP, []byte{0, 7, 0, 9, 0, 7, 0, 0}, nil), false,
			"10.0.0.1 > 10.0.0.2: UDP, id 1, ttl 64, length 28 | error: udp: length 7: bad length field"},
		{"icmp short", ipFrame(ProtoICMP, []byte{8, 0, 0}, nil), false,
			"10.0.0.1 > 10.0.0.2: ICMP, id 1, ttl 64, length 23 | error: icmp: 3 bytes: truncated"},
		{"icmp port unreachable", ipFrame(ProtoICMP, unreach, nil), false,
			"10.0.0.1 > 10.0.0.2: ICMP, id 1, ttl 64, length 56 | destination unreachable, port unreachable, length 36 | quoting 10.0.0.1.53012 > 10.0.0.2.53: UDP"},
		{"icmp error quoting garbage", ipFrame(ProtoICMP, []byte{11, 0, 0xaf, 0xff, 0, 0, 0, 0, 0x45}, nil), false,
			"10.0.0.1 > 10.0.0.2: ICMP, id 1, ttl 64, length 29 | time exceeded in-transit, length 9 | quoting no IPv4 header (1 bytes)"},
		{"fragment", ipFrame(ProtoUDP, []byte{1, 2, 3, 4}, func(ip []byte) { ip[6] = 0x20 }), false,
			"10.0.0.1 > 10.0.0.2: UDP, id 1, ttl 64, flags [MF], length 24 | fragment, 4 bytes of UDP"},
		{"other protocol", ipFrame(89, []byte{1, 2, 3, 4}, nil), false,
			"10.0.0.1 > 10.0.0.2: proto 89, id 1, ttl 64, length 24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.frame, tt.eth); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDescribeGarbage feeds random bytes and random corruptions of the
// golden frames: Describe must never panic and never return "".
func TestDescribeGarbage(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 4))
	goldens := []string{goldenArpRequest, goldenIcmpEcho, goldenUdpDNS, goldenTcpSYN, goldenTcpSACK}
	for i := 0; i < 20000; i++ {
		var b []byte
		if i%2 == 0 {
			b = frame(t, goldens[r.IntN(len(goldens))])
			for k := r.IntN(4); k >= 0; k-- {
				b[r.IntN(len(b))] = byte(r.Uint32())
			}
			b = b[:r.IntN(len(b)+1)]
		} else {
			b = make([]byte, r.IntN(100))
			for k := range b {
				b[k] = byte(r.Uint32())
			}
		}
		if Describe(b, true) == "" || Describe(b, false) == "" {
			t.Fatalf("empty description of % x", b)
		}
	}
}
