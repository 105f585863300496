package wire

import (
	"testing"
)

var (
	sinkInt  int
	sinkBool bool
)

func BenchmarkParseEthIPv4UDP(b *testing.B) {
	fr := frame(b, goldenUdpDNS)
	b.ReportAllocs()
	b.SetBytes(int64(len(fr)))
	for b.Loop() {
		e, err := ParseEthernet(fr)
		if err != nil {
			b.Fatal(err)
		}
		ip, err := ParseIPv4(e.Payload())
		if err != nil {
			b.Fatal(err)
		}
		u, err := ParseUDP(ip.Payload())
		if err != nil {
			b.Fatal(err)
		}
		sinkBool = ip.ChecksumValid() && u.ChecksumValid(ip.Src(), ip.Dst())
		sinkInt = int(u.DstPort()) + len(u.Payload())
	}
}

func BenchmarkParseEthIPv4TCPOptions(b *testing.B) {
	fr := frame(b, goldenTcpSYN)
	b.ReportAllocs()
	b.SetBytes(int64(len(fr)))
	for b.Loop() {
		e, err := ParseEthernet(fr)
		if err != nil {
			b.Fatal(err)
		}
		ip, err := ParseIPv4(e.Payload())
		if err != nil {
			b.Fatal(err)
		}
		seg, err := ParseTCP(ip.Payload())
		if err != nil {
			b.Fatal(err)
		}
		o, err := seg.ParsedOptions()
		if err != nil {
			b.Fatal(err)
		}
		sinkBool = ip.ChecksumValid() && seg.ChecksumValid(ip.Src(), ip.Dst())
		sinkInt = int(o.MSS) + int(seg.Seq())
	}
}

func BenchmarkEncodeEthIPv4UDP(b *testing.B) {
	payload := frame(b, goldenUdpDNS)[42:]
	eth := EthernetFields{Dst: macB, Src: macA, EtherType: EtherTypeIPv4}
	ip := IPv4Fields{TotalLen: 20 + 8 + len(payload), ID: 1, TTL: 64, Protocol: ProtoUDP, Src: ipA, Dst: ipB}
	udp := UDPFields{SrcPort: 53012, DstPort: 53}
	buf := make([]byte, 14+ip.TotalLen)
	copy(buf[42:], payload)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		eth.Encode(buf)
		ip.Encode(buf[14:])
		udp.Encode(buf[34:], ip.Src, ip.Dst)
	}
	if got := Describe(buf, true); got == "" {
		b.Fatal("no frame")
	}
}

func BenchmarkEncodeEthIPv4TCPOptions(b *testing.B) {
	eth := EthernetFields{Dst: macB, Src: macA, EtherType: EtherTypeIPv4}
	seg := TCPFields{SrcPort: 43210, DstPort: 80, Seq: 1, Ack: 2, Flags: FlagACK, Window: 500,
		Options: TCPOptions{HasTimestamps: true, TSVal: 1, TSEcr: 2, NumSACK: 3}}
	ip := IPv4Fields{TotalLen: 20 + seg.HeaderLen(), ID: 1, TTL: 64, DontFragment: true, Protocol: ProtoTCP, Src: ipA, Dst: ipB}
	buf := make([]byte, 14+ip.TotalLen)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		eth.Encode(buf)
		ip.Encode(buf[14:])
		seg.Encode(buf[34:], ip.Src, ip.Dst)
	}
	if _, err := ParseTCP(buf[34:]); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkChecksum1500(b *testing.B) { benchmarkChecksum(b, 1500) }

func BenchmarkChecksum65535(b *testing.B) { benchmarkChecksum(b, 65535) }

func benchmarkChecksum(b *testing.B, n int) {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		sinkInt = int(Checksum(buf))
	}
}

func BenchmarkDescribe(b *testing.B) {
	fr := frame(b, goldenTcpSYN)
	b.ReportAllocs()
	for b.Loop() {
		sinkInt = len(Describe(fr, true))
	}
}
