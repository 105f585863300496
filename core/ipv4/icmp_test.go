package ipv4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

func TestErrorAllowed(t *testing.T) {
	icmp := func(typ wire.ICMPv4Type) []byte { return []byte{byte(typ), 0, 0, 0, 0, 0, 0, 0} }
	udp := make([]byte, 8)
	tests := []struct {
		name    string
		src     string
		dst     string
		proto   wire.IPProtocol
		off     int
		payload []byte
		linkBC  bool
		want    bool
	}{
		{"plain UDP", "192.168.1.20", "192.168.1.10", wire.ProtoUDP, 0, udp, false, true},
		{"remote source", "8.8.8.8", "192.168.1.10", wire.ProtoTCP, 0, udp, false, true},
		{"echo request", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, icmp(wire.ICMPEchoRequest), false, true},
		{"echo reply", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, icmp(wire.ICMPEchoReply), false, true},
		{"about dest unreachable", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, icmp(wire.ICMPDestUnreachable), false, false},
		{"about time exceeded", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, icmp(wire.ICMPTimeExceeded), false, false},
		{"about param problem", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, icmp(wire.ICMPParamProblem), false, false},
		{"about redirect", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, icmp(5), false, false},
		{"about unknown ICMP type", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, icmp(200), false, false},
		{"ICMP with no body", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 0, nil, false, false},
		{"non-initial fragment", "192.168.1.20", "192.168.1.10", wire.ProtoUDP, 8, udp, false, false},
		{"non-initial ICMP fragment", "192.168.1.20", "192.168.1.10", wire.ProtoICMP, 8, icmp(wire.ICMPEchoRequest), false, false},
		{"link broadcast", "192.168.1.20", "192.168.1.10", wire.ProtoUDP, 0, udp, true, false},
		{"to limited broadcast", "192.168.1.20", "255.255.255.255", wire.ProtoUDP, 0, udp, false, false},
		{"to directed broadcast", "192.168.1.20", "192.168.1.255", wire.ProtoUDP, 0, udp, false, false},
		{"to multicast", "192.168.1.20", "224.0.0.251", wire.ProtoUDP, 0, udp, false, false},
		{"from zero", "0.0.0.0", "192.168.1.10", wire.ProtoUDP, 0, udp, false, false},
		{"from loopback", "127.0.0.1", "192.168.1.10", wire.ProtoUDP, 0, udp, false, false},
		{"from broadcast", "255.255.255.255", "192.168.1.10", wire.ProtoUDP, 0, udp, false, false},
		{"from subnet broadcast", "192.168.1.255", "192.168.1.10", wire.ProtoUDP, 0, udp, false, false},
		{"from multicast", "224.0.0.1", "192.168.1.10", wire.ProtoUDP, 0, udp, false, false},
		{"from class E", "240.0.0.1", "192.168.1.10", wire.ProtoUDP, 0, udp, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := wire.IPv4Fields{TTL: 64, Protocol: tt.proto, Src: netip.MustParseAddr(tt.src),
				Dst: netip.MustParseAddr(tt.dst), FragmentOffset: tt.off}
			orig := packet(t, f, tt.payload)
			if got := ErrorAllowed(orig, local, tt.linkBC); got != tt.want {
				t.Errorf("ErrorAllowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEncodeError(t *testing.T) {
	tests := []struct {
		name    string
		payload int
		wantLen int // ICMP message length
	}{
		{"short original quoted whole", 12, 8 + 20 + 12},
		{"exactly fits 576", 528, 8 + 548},
		{"long original cut to 576", 1480, 8 + 548},
		{"no payload", 0, 8 + 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := packet(t, udpFields(), pattern(tt.payload))
			if n := ErrorLen(orig); n != tt.wantLen {
				t.Fatalf("ErrorLen %d, want %d", n, tt.wantLen)
			}
			b := make([]byte, 1600)
			n := EncodeError(b, wire.ICMPDestUnreachable, wire.ICMPCodePortUnreachable, 0, orig)
			if n != tt.wantLen {
				t.Fatalf("EncodeError = %d, want %d", n, tt.wantLen)
			}
			if wire.IPv4HeaderLen+n > 576 {
				t.Errorf("IP packet would be %d bytes", wire.IPv4HeaderLen+n)
			}
			m, err := wire.ParseICMPv4(b[:n])
			if err != nil {
				t.Fatal(err)
			}
			if !m.ChecksumValid() || m.Type() != wire.ICMPDestUnreachable || m.Code() != wire.ICMPCodePortUnreachable || m.Rest() != 0 {
				t.Errorf("header: type %d code %d rest %d checksum ok %v", m.Type(), m.Code(), m.Rest(), m.ChecksumValid())
			}
			if !bytes.Equal(m.Payload(), orig[:n-8]) {
				t.Error("quote is not the start of the original")
			}
			q, err := ParseQuoted(m.Payload())
			if err != nil {
				t.Fatalf("ParseQuoted of our own error: %v", err)
			}
			if q.Src != peer || q.Dst != local.Addr() || q.Protocol != wire.ProtoUDP || !bytes.Equal(q.Transport, orig.Payload()[:len(q.Transport)]) {
				t.Errorf("quoted %+v", q)
			}
		})
	}
	orig := packet(t, udpFields(), pattern(100))
	if n := EncodeError(make([]byte, ErrorLen(orig)-1), wire.ICMPTimeExceeded, 1, 0, orig); n != 0 {
		t.Errorf("EncodeError into a short buffer = %d, want 0", n)
	}
	// Fragmentation needed carries the next-hop MTU (RFC 1191).
	b := make([]byte, ErrorLen(orig))
	EncodeError(b, wire.ICMPDestUnreachable, wire.ICMPCodeFragmentationNeeded, 1400, orig)
	if m := wire.ICMPv4(b); m.NextHopMTU() != 1400 || !m.ChecksumValid() {
		t.Errorf("NextHopMTU %d", m.NextHopMTU())
	}
}

func TestEncodeEchoReply(t *testing.T) {
	req := make([]byte, 8+56)
	copy(req[8:], pattern(56))
	f := wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: 0xbeef<<16 | 7}
	f.Encode(req)
	b := make([]byte, len(req))
	if n := EncodeEchoReply(b, wire.ICMPv4(req)); n != len(req) {
		t.Fatalf("n = %d", n)
	}
	m := wire.ICMPv4(b)
	if m.Type() != wire.ICMPEchoReply || m.Code() != 0 || m.ID() != 0xbeef || m.Seq() != 7 || !m.ChecksumValid() || !bytes.Equal(m.Payload(), req[8:]) {
		t.Errorf("reply % x", b[:16])
	}
	if n := EncodeEchoReply(make([]byte, len(req)-1), wire.ICMPv4(req)); n != 0 {
		t.Errorf("short buffer: %d", n)
	}
}

func TestParseQuoted(t *testing.T) {
	orig := packet(t, udpFields(), pattern(100))
	withTL := func(b []byte, tl int) []byte {
		b = append([]byte(nil), b...)
		binary.BigEndian.PutUint16(b[2:], uint16(tl))
		return b
	}
	frag := udpFields()
	frag.FragmentOffset = 1480
	tests := []struct {
		name      string
		body      []byte
		wantErr   error
		transport int // expected len(Transport)
	}{
		{"header plus 8 (RFC 792 minimum)", orig[:28], nil, 8},
		{"header plus more", orig[:60], nil, 40},
		{"whole original", orig, nil, 100},
		{"padding beyond total length trimmed", append(append([]byte(nil), orig...), 0, 0, 0), nil, 100},
		{"original shorter than 8", packet(t, udpFields(), pattern(4)), nil, 4},
		{"header only, original had payload", orig[:20], wire.ErrTruncated, 0},
		{"header plus 4", orig[:24], wire.ErrTruncated, 0},
		{"shorter than a header", orig[:19], wire.ErrTruncated, 0},
		{"empty", nil, wire.ErrTruncated, 0},
		{"IPv6 quote", append([]byte{0x60}, orig[1:28]...), wire.ErrBadVersion, 0},
		{"IHL below 5", append([]byte{0x44}, orig[1:28]...), wire.ErrBadLength, 0},
		{"IHL beyond quote", append([]byte{0x4f}, orig[1:28]...), wire.ErrTruncated, 0},
		{"total length below header", withTL(orig[:28], 10), wire.ErrBadLength, 0},
		{"non-initial fragment has no transport", packet(t, frag, pattern(8)), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQuoted(tt.body)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.Src != peer || q.Dst != local.Addr() || q.Protocol != wire.ProtoUDP {
				t.Errorf("addresses %+v", q)
			}
			if len(q.Transport) != tt.transport {
				t.Errorf("transport %d bytes, want %d", len(q.Transport), tt.transport)
			}
		})
	}
}

func FuzzParseQuoted(f *testing.F) {
	f.Add([]byte(packet(f, udpFields(), pattern(100))))
	f.Add([]byte(packet(f, udpFields(), pattern(100))[:28]))
	f.Add([]byte{0x4f, 0, 0, 20})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		q, err := ParseQuoted(body)
		if err != nil {
			return
		}
		hl := int(body[0]&0xf) * 4
		tl := int(binary.BigEndian.Uint16(body[2:]))
		if len(q.Transport) > tl-hl || len(q.Transport) > len(body)-hl {
			t.Fatalf("transport %d bytes exceeds quote", len(q.Transport))
		}
		if q.Transport != nil && len(q.Transport) < min(8, tl-hl) {
			t.Fatalf("transport %d bytes, below RFC 792 minimum", len(q.Transport))
		}
	})
}
