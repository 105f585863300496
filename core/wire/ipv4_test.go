package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestIPv4Golden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		want   IPv4Fields
		cksum  uint16 // from the independent generator, confirmed by tshark
	}{
		{"icmp echo", goldenIcmpEcho, IPv4Fields{TotalLen: 76, ID: 1234, DontFragment: true, TTL: 64, Protocol: ProtoICMP, Src: ipA, Dst: ipB}, 0x21dd},
		{"udp dns", goldenUdpDNS, IPv4Fields{TotalLen: 57, ID: 0x1c46, TTL: 64, Protocol: ProtoUDP, Src: ipA, Dst: ipB}, 0x4a6c},
		{"tcp syn", goldenTcpSYN, IPv4Fields{TotalLen: 60, ID: 0x3039, DontFragment: true, TTL: 64, Protocol: ProtoTCP, Src: ipA, Dst: ipB}, 0xf680},
		{"tcp syn-ack", goldenTcpSYNACK, IPv4Fields{TotalLen: 60, DontFragment: true, TTL: 64, Protocol: ProtoTCP, Src: ipB, Dst: ipA}, 0x26ba},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := frame(t, tt.golden)[EthernetHeaderLen:]
			ip, err := ParseIPv4(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := ip.Fields(); got != tt.want {
				t.Errorf("fields %+v\nwant   %+v", got, tt.want)
			}
			if ip.HeaderLen() != 20 || len(ip.Options()) != 0 || ip.TOS() != 0 || ip.IsFragment() || ip.FragmentOffset() != 0 {
				t.Errorf("hl %d opts %d tos %d frag %v", ip.HeaderLen(), len(ip.Options()), ip.TOS(), ip.IsFragment())
			}
			if ip.Checksum() != tt.cksum || !ip.ChecksumValid() {
				t.Errorf("checksum %#04x valid %v, want %#04x", ip.Checksum(), ip.ChecksumValid(), tt.cksum)
			}
			if len(ip) != tt.want.TotalLen || !bytes.Equal(ip.Payload(), b[20:tt.want.TotalLen]) {
				t.Errorf("view %d bytes, payload %d", len(ip), len(ip.Payload()))
			}
			var h [IPv4HeaderLen]byte
			tt.want.Encode(h[:])
			if !bytes.Equal(h[:], b[:20]) {
				t.Errorf("encode = % x\nwant     % x", h, b[:20])
			}
		})
	}
}

// TestIPv4WikipediaHeader checks the worked example of the IPv4 header
// checksum article (192.168.0.1 > 192.168.0.199, UDP, checksum 0xb861).
func TestIPv4WikipediaHeader(t *testing.T) {
	b := frame(t, "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")
	b = append(b, make([]byte, 0x73-20)...)
	ip, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if !ip.ChecksumValid() || ip.Checksum() != 0xb861 {
		t.Errorf("checksum %#x valid %v", ip.Checksum(), ip.ChecksumValid())
	}
	f := ip.Fields()
	var h [20]byte
	f.Encode(h[:])
	if !bytes.Equal(h[:], b[:20]) {
		t.Errorf("re-encode % x", h)
	}
}

func TestIPv4TrimsEthernetPadding(t *testing.T) {
	// 46-byte minimum Ethernet payload around a 28-byte packet.
	f := IPv4Fields{TotalLen: 28, TTL: 1, Protocol: ProtoUDP, Src: ipA, Dst: ipB}
	b := make([]byte, 46)
	f.Encode(b)
	ip, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ip) != 28 || len(ip.Payload()) != 8 {
		t.Errorf("len %d payload %d, want 28 and 8", len(ip), len(ip.Payload()))
	}
}

func TestIPv4OptionsAndFragments(t *testing.T) {
	// IHL 6 with a Router Alert option (RFC 2113), MF set, offset 1480.
	b := frame(t, "4610 0028 abcd 20b9 0111 0000 0a00 0001 0a00 0002 9404 0000")
	b = append(b, make([]byte, 16)...)
	binary.BigEndian.PutUint16(b[10:], refChecksum(b[:24]))
	ip, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if ip.HeaderLen() != 24 || !bytes.Equal(ip.Options(), []byte{0x94, 4, 0, 0}) || len(ip.Payload()) != 16 {
		t.Errorf("hl %d options % x payload %d", ip.HeaderLen(), ip.Options(), len(ip.Payload()))
	}
	if !ip.MoreFragments() || ip.DontFragment() || ip.FragmentOffset() != 1480 || !ip.IsFragment() || ip.TOS() != 0x10 {
		t.Errorf("MF %v DF %v off %d tos %#x", ip.MoreFragments(), ip.DontFragment(), ip.FragmentOffset(), ip.TOS())
	}
	if !ip.ChecksumValid() {
		t.Error("checksum over the options not valid")
	}
	// Encode of the same fixed fields produces the same flags word.
	f := ip.Fields()
	var h [20]byte
	f.Encode(h[:])
	if !bytes.Equal(h[4:10], b[4:10]) {
		t.Errorf("id/flags/offset/ttl/proto % x want % x", h[4:10], b[4:10])
	}
}

func TestIPv4SetTTL(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := 0; i < 1000; i++ {
		f := IPv4Fields{
			TOS: uint8(r.Uint32()), TotalLen: 20, ID: uint16(r.Uint32()), DontFragment: r.IntN(2) == 0,
			TTL: uint8(r.Uint32()), Protocol: IPProtocol(r.Uint32()),
			Src: netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), 0, 1}), Dst: ipB,
		}
		b := make(IPv4, 20)
		f.Encode(b)
		ttl := uint8(r.Uint32())
		b.SetTTL(ttl)
		if b.TTL() != ttl {
			t.Fatalf("ttl %d want %d", b.TTL(), ttl)
		}
		want := refChecksum(b[:10], b[12:20])
		if b.Checksum() != want || !b.ChecksumValid() {
			t.Fatalf("%+v ttl->%d: checksum %#04x, recomputed %#04x", f, ttl, b.Checksum(), want)
		}
	}
}

func TestParseIPv4Malformed(t *testing.T) {
	good := frame(t, goldenTcpSYN)[EthernetHeaderLen:]
	tests := []struct {
		name     string
		edit     func(b []byte) []byte
		sentinel error
	}{
		{"empty", func(b []byte) []byte { return b[:0] }, ErrTruncated},
		{"19 bytes", func(b []byte) []byte { return b[:19] }, ErrTruncated},
		{"version 6", func(b []byte) []byte { b[0] = 0x65; return b }, ErrBadVersion},
		{"version 0", func(b []byte) []byte { b[0] = 0x05; return b }, ErrBadVersion},
		{"IHL 0", func(b []byte) []byte { b[0] = 0x40; return b }, ErrBadLength},
		{"IHL 4", func(b []byte) []byte { b[0] = 0x44; return b }, ErrBadLength},
		{"total length 19", func(b []byte) []byte { b[2], b[3] = 0, 19; return b }, ErrBadLength},
		{"total length 0", func(b []byte) []byte { b[2], b[3] = 0, 0; return b }, ErrBadLength},
		{"total length < IHL", func(b []byte) []byte { b[0] = 0x4f; b[2], b[3] = 0, 40; return b }, ErrBadLength},
		{"total length > buffer", func(b []byte) []byte { b[2], b[3] = 0, 61; return b }, ErrTruncated},
		{"packet cut short", func(b []byte) []byte { return b[:59] }, ErrTruncated},
		{"IHL beyond buffer", func(b []byte) []byte { b[0] = 0x4f; b[2], b[3] = 0, 60; return b[:40] }, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.edit(append([]byte(nil), good...))
			if ip, err := ParseIPv4(b); !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v (view %d bytes), want %v", err, len(ip), tt.sentinel)
			}
		})
	}
	// A corrupted checksum still parses; ChecksumValid reports it.
	b := append([]byte(nil), good...)
	b[8]--
	ip, err := ParseIPv4(b)
	if err != nil || ip.ChecksumValid() {
		t.Errorf("corrupted ttl: err %v, valid %v", err, err == nil && ip.ChecksumValid())
	}
}
