package wire

import (
	"bytes"
	"errors"
	"testing"
)

// The seed corpus is the golden frames at the layer each target parses, and
// a few malformed variants from the tables in the protocol tests.

func goldenFrames(t testing.TB) [][]byte {
	var out [][]byte
	for _, g := range []string{goldenArpRequest, goldenArpReply, goldenIcmpEcho, goldenUdpDNS,
		goldenTcpSYN, goldenTcpSYNACK, goldenTcpData, goldenTcpSACK} {
		out = append(out, frame(t, g))
	}
	return out
}

// addGoldenAt seeds f with the golden frames of one protocol cut at off: 14
// for what follows Ethernet, 34 for what follows a 20-byte IP header.
func addGoldenAt(f *testing.F, off int, ethType EtherType, proto IPProtocol) {
	for _, b := range goldenFrames(f) {
		e := Ethernet(b)
		if e.EtherType() != ethType {
			continue
		}
		if ethType == EtherTypeIPv4 && IPv4(e.Payload()).Protocol() != proto {
			continue
		}
		f.Add(b[off:])
	}
}

func FuzzParseEthernet(f *testing.F) {
	for _, b := range goldenFrames(f) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 13))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEthernet(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_, _, _ = e.Dst().IsBroadcast(), e.Src().IsMulticast(), e.Payload()
		_ = e.String()
		fields := e.Fields()
		var h [EthernetHeaderLen]byte
		fields.Encode(h[:])
		if !bytes.Equal(h[:], b[:EthernetHeaderLen]) {
			t.Fatalf("re-encode % x, want % x", h, b[:EthernetHeaderLen])
		}
		e2, err := ParseEthernet(h[:])
		if err != nil || e2.Fields() != fields {
			t.Fatalf("round trip: %+v, %v", e2.Fields(), err)
		}
	})
}

func FuzzParseARP(f *testing.F) {
	addGoldenAt(f, EthernetHeaderLen, EtherTypeARP, 0)
	f.Add(make([]byte, 27))
	f.Add(frame(f, "0001 86dd 0610 0001 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseARP(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = a.String()
		fields := a.Fields()
		var out [ARPLen]byte
		fields.Encode(out[:])
		if !bytes.Equal(out[:], b[:ARPLen]) {
			t.Fatalf("re-encode % x, want % x", out, b[:ARPLen])
		}
		a2, err := ParseARP(out[:])
		if err != nil || a2.Fields() != fields {
			t.Fatalf("round trip: %+v, %v", a2.Fields(), err)
		}
	})
}

func FuzzParseIPv4(f *testing.F) {
	for _, b := range goldenFrames(f) {
		if Ethernet(b).EtherType() == EtherTypeIPv4 {
			f.Add(b[EthernetHeaderLen:])
		}
	}
	f.Add(frame(f, "4610 0028 abcd 20b9 0111 0000 0a00 0001 0a00 0002 9404 0000 0000 0000 0000 0000 0000 0000 0000 0000"))
	f.Add(frame(f, "4f00 0014 0001 0000 4059 0000 0a00 0001 0a00 0002"))
	f.Add([]byte{0x65, 0, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, err := ParseIPv4(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadLength) && !errors.Is(err, ErrBadVersion) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_, _, _ = ip.Options(), ip.IsFragment(), ip.Checksum()
		_ = ip.String()
		if len(ip) != ip.TotalLen() || len(ip.Payload()) != ip.TotalLen()-ip.HeaderLen() {
			t.Fatalf("view %d bytes, total length %d", len(ip), ip.TotalLen())
		}
		valid := ip.ChecksumValid()
		if valid != (refChecksum(ip[:ip.HeaderLen()]) == 0) {
			t.Fatalf("ChecksumValid %v disagrees with the reference", valid)
		}
		// SetTTL keeps a valid checksum valid (RFC 1624 update).
		cp := append(IPv4(nil), ip...)
		cp.SetTTL(ip.TTL() + 1)
		if valid && !cp.ChecksumValid() {
			t.Fatalf("SetTTL broke the checksum of % x", ip[:ip.HeaderLen()])
		}
		// Round trip through the fields, options left out.
		fields := ip.Fields()
		fields.TotalLen = IPv4HeaderLen + len(ip.Payload())
		out := make([]byte, fields.TotalLen)
		fields.Encode(out)
		copy(out[IPv4HeaderLen:], ip.Payload())
		ip2, err := ParseIPv4(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if ip2.Fields() != fields || !ip2.ChecksumValid() || !bytes.Equal(ip2.Payload(), ip.Payload()) {
			t.Fatalf("round trip %+v\nwant %+v", ip2.Fields(), fields)
		}
		if valid && ip.HeaderLen() == IPv4HeaderLen && ip[6]&0x80 == 0 && !bytes.Equal(out[:20], ip[:20]) {
			t.Fatalf("re-encode % x, want % x", out[:20], ip[:20])
		}
	})
}

func FuzzParseICMPv4(f *testing.F) {
	addGoldenAt(f, EthernetHeaderLen+IPv4HeaderLen, EtherTypeIPv4, ProtoICMP)
	f.Add([]byte{3, 4, 0, 0, 0, 0, 5, 0x78})
	f.Add([]byte{8, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseICMPv4(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_, _, _, _ = m.ID(), m.Seq(), m.NextHopMTU(), m.Payload()
		_ = m.String()
		fields := m.Fields()
		out := append([]byte(nil), m...)
		fields.Encode(out)
		m2, err := ParseICMPv4(out)
		if err != nil || m2.Fields() != fields || !m2.ChecksumValid() || !bytes.Equal(m2.Payload(), m.Payload()) {
			t.Fatalf("round trip %+v valid %v, %v", m2.Fields(), m2.ChecksumValid(), err)
		}
		if m.ChecksumValid() != (refChecksum(m) == 0) {
			t.Fatalf("ChecksumValid %v disagrees with the reference", m.ChecksumValid())
		}
	})
}

func FuzzParseUDP(f *testing.F) {
	addGoldenAt(f, EthernetHeaderLen+IPv4HeaderLen, EtherTypeIPv4, ProtoUDP)
	f.Add([]byte{0, 7, 0, 9, 0, 7, 0, 0})
	f.Add([]byte{0, 7, 0, 9, 0, 9, 0, 0, 0xaa})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUDP(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadLength) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if u.Length() != len(u) || len(u.Payload()) != len(u)-UDPHeaderLen {
			t.Fatalf("length %d view %d", u.Length(), len(u))
		}
		_ = u.String()
		if u.ChecksumValid(ipA, ipB) != (u.Checksum() == 0 || refChecksum(refPseudo(ipA, ipB, ProtoUDP, len(u)), u) == 0) {
			t.Fatalf("ChecksumValid disagrees with the reference")
		}
		fields := u.Fields()
		out := append([]byte(nil), u...)
		fields.Encode(out, ipA, ipB)
		u2, err := ParseUDP(out)
		if err != nil || u2.Fields() != fields || !u2.ChecksumValid(ipA, ipB) || u2.Checksum() == 0 || !bytes.Equal(u2.Payload(), u.Payload()) {
			t.Fatalf("round trip %+v checksum %#04x, %v", u2.Fields(), u2.Checksum(), err)
		}
	})
}

// checkOptionsRoundTrip encodes o and parses it back. Encode may leave out
// trailing SACK blocks, but only those that would overflow the option space.
func checkOptionsRoundTrip(t *testing.T, o TCPOptions) {
	t.Helper()
	var buf [64]byte
	n := o.Encode(buf[:])
	if n != o.Len() || n%4 != 0 || n > MaxOptionsLen {
		t.Fatalf("Encode wrote %d, Len %d", n, o.Len())
	}
	got, err := ParseTCPOptions(buf[:n])
	if err != nil {
		t.Fatalf("re-parse % x: %v", buf[:n], err)
	}
	want := o
	if got.NumSACK < o.NumSACK {
		extra := 8
		if got.NumSACK == 0 {
			extra = 12
		}
		if n+extra <= MaxOptionsLen {
			t.Fatalf("dropped SACK blocks that fit: %+v", o)
		}
		want.NumSACK = got.NumSACK
		for k := got.NumSACK; k < MaxSACKBlocks; k++ {
			want.SACK[k] = SACKBlock{}
		}
	}
	if got != want {
		t.Fatalf("options round trip\n got %+v\nwant %+v", got, want)
	}
}

func FuzzParseTCP(f *testing.F) {
	addGoldenAt(f, EthernetHeaderLen+IPv4HeaderLen, EtherTypeIPv4, ProtoTCP)
	f.Add(tcpWithOptions(2, 3, 1, 1))
	f.Add(tcpWithOptions(30, 0, 1, 1))
	f.Add(tcpWithOptions(5, 10, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10, 0, 0))
	f.Add(tcpWithOptions(2, 4, 5, 0xb4, 4, 2, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		seg, err := ParseTCP(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadLength) && !errors.Is(err, ErrBadOption) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_, _, _ = seg.SegLen(), seg.Urgent(), seg.Checksum()
		_ = seg.String()
		if seg.ChecksumValid(ipA, ipB) != (refChecksum(refPseudo(ipA, ipB, ProtoTCP, len(seg)), seg) == 0) {
			t.Fatalf("ChecksumValid disagrees with the reference")
		}
		fields, err := seg.Fields()
		if err != nil {
			if !errors.Is(err, ErrBadOption) {
				t.Fatalf("unexpected options error %v", err)
			}
			return
		}
		checkOptionsRoundTrip(t, fields.Options)
		out := make([]byte, fields.HeaderLen()+len(seg.Payload()))
		copy(out[fields.HeaderLen():], seg.Payload())
		fields.Encode(out, ipA, ipB)
		seg2, err := ParseTCP(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		got, err := seg2.Fields()
		if err != nil {
			t.Fatalf("re-parse options: %v", err)
		}
		want := fields
		want.Options.NumSACK = got.Options.NumSACK // dropping checked above
		want.Options.SACK = got.Options.SACK
		if got != want || !seg2.ChecksumValid(ipA, ipB) || !bytes.Equal(seg2.Payload(), seg.Payload()) || seg2.SegLen() != seg.SegLen() {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}

func FuzzParseTCPOptions(f *testing.F) {
	for _, b := range goldenFrames(f) {
		if Ethernet(b).EtherType() == EtherTypeIPv4 && IPv4(b[14:]).Protocol() == ProtoTCP {
			f.Add(TCP(b[34:]).Options())
		}
	}
	f.Add([]byte{30, 6, 9, 9, 9, 9, 2, 4, 2, 0x18})
	f.Add([]byte{5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 18, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6})
	f.Add([]byte{2, 3, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseTCPOptions(b)
		if err != nil {
			if !errors.Is(err, ErrBadOption) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if o.NumSACK < 0 || o.NumSACK > MaxSACKBlocks {
			t.Fatalf("NumSACK %d", o.NumSACK)
		}
		checkOptionsRoundTrip(t, o)
	})
}

func FuzzDescribe(f *testing.F) {
	for _, b := range goldenFrames(f) {
		f.Add(b, true)
		f.Add(b[EthernetHeaderLen:], false)
	}
	f.Add([]byte{}, true)
	f.Add([]byte{0x60, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, b []byte, ethernet bool) {
		if Describe(b, ethernet) == "" {
			t.Fatal("empty description")
		}
	})
}
