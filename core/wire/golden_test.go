package wire

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// Golden frames. The bytes were built by an independent Python script with
// its own RFC 1071 checksum and then decoded by tshark, which reported every
// IP, ICMP, UDP and TCP checksum as correct and decoded them as:
//
//	1 52:54:00:12:34:56 → Broadcast  ARP 60 Who has 10.0.0.2? Tell 10.0.0.1
//	2 52:54:00:ab:cd:ef → 52:54:00:12:34:56 ARP 60 10.0.0.2 is at 52:54:00:ab:cd:ef
//	3 10.0.0.1 → 10.0.0.2 ICMP 90 Echo (ping) request id=0x0001, seq=2, ttl=64
//	4 10.0.0.1 → 10.0.0.2 DNS 71 Standard query 0xabcd A example.com
//	5 10.0.0.1 → 10.0.0.2 TCP 74 43210 → 80 [SYN] Win=64240 MSS=1460 SACK_PERM TSval=123456789 TSecr=0 WS=128
//	6 10.0.0.2 → 10.0.0.1 TCP 74 80 → 43210 [SYN, ACK] Win=65160 MSS=1460 SACK_PERM TSval=987654321 TSecr=123456789 WS=128
//	7 10.0.0.1 → 10.0.0.2 HTTP 93 GET / HTTP/1.1 (NOP NOP TS)
//	8 10.0.0.2 → 10.0.0.1 TCP 78 [ACK] Win=509 TSval=987654400 TSecr=123456800 SLE=1001 SRE=2001
//
// The SYN and SYN-ACK carry options in the order and layout Linux sends them.
const (
	// arpRequest: 60 bytes
	goldenArpRequest = "" +
		"ffff ffff ffff 5254 0012 3456 0806 0001" +
		"0800 0604 0001 5254 0012 3456 0a00 0001" +
		"0000 0000 0000 0a00 0002 0000 0000 0000" +
		"0000 0000 0000 0000 0000 0000"

	// arpReply: 60 bytes
	goldenArpReply = "" +
		"5254 0012 3456 5254 00ab cdef 0806 0001" +
		"0800 0604 0002 5254 00ab cdef 0a00 0002" +
		"5254 0012 3456 0a00 0001 0000 0000 0000" +
		"0000 0000 0000 0000 0000 0000"

	// icmpEcho: 90 bytes, ip cksum 0x21dd, l4 cksum 0xa0a6
	goldenIcmpEcho = "" +
		"5254 00ab cdef 5254 0012 3456 0800 4500" +
		"004c 04d2 4000 4001 21dd 0a00 0001 0a00" +
		"0002 0800 a0a6 0001 0002 5d1c 3b67 0000" +
		"0000 1011 1213 1415 1617 1819 1a1b 1c1d" +
		"1e1f 2021 2223 2425 2627 2829 2a2b 2c2d" +
		"2e2f 3031 3233 3435 3637"

	// udpDNS: 71 bytes, ip cksum 0x4a6c, l4 cksum 0xa11c
	goldenUdpDNS = "" +
		"5254 00ab cdef 5254 0012 3456 0800 4500" +
		"0039 1c46 0000 4011 4a6c 0a00 0001 0a00" +
		"0002 cf14 0035 0025 a11c abcd 0100 0001" +
		"0000 0000 0000 0765 7861 6d70 6c65 0363" +
		"6f6d 0000 0100 01"

	// tcpSYN: 74 bytes, ip cksum 0xf680, l4 cksum 0x6509
	goldenTcpSYN = "" +
		"5254 00ab cdef 5254 0012 3456 0800 4500" +
		"003c 3039 4000 4006 f680 0a00 0001 0a00" +
		"0002 a8ca 0050 1a2b 3c4d 0000 0000 a002" +
		"faf0 6509 0000 0204 05b4 0402 080a 075b" +
		"cd15 0000 0000 0103 0307"

	// tcpSYNACK: 74 bytes, ip cksum 0x26ba, l4 cksum 0xeedf
	goldenTcpSYNACK = "" +
		"5254 0012 3456 5254 00ab cdef 0800 4500" +
		"003c 0000 4000 4006 26ba 0a00 0002 0a00" +
		"0001 0050 a8ca 5e6f 7081 1a2b 3c4e a012" +
		"fe88 eedf 0000 0204 05b4 0402 080a 3ade" +
		"68b1 075b cd15 0103 0307"

	// tcpData: 93 bytes, ip cksum 0xf66c, l4 cksum 0xc65b
	goldenTcpData = "" +
		"5254 00ab cdef 5254 0012 3456 0800 4500" +
		"004f 303a 4000 4006 f66c 0a00 0001 0a00" +
		"0002 a8ca 0050 1a2b 3c4e 5e6f 7082 8018" +
		"01f6 c65b 0000 0101 080a 075b cd20 3ade" +
		"68b1 4745 5420 2f20 4854 5450 2f31 2e31" +
		"0d0a 486f 7374 3a20 780d 0a0d 0a"

	// tcpSACK: 78 bytes, ip cksum 0x26b5, l4 cksum 0x2b1c
	goldenTcpSACK = "" +
		"5254 0012 3456 5254 00ab cdef 0800 4500" +
		"0040 0001 4000 4006 26b5 0a00 0002 0a00" +
		"0001 0050 a8ca 5e6f 7082 1a2b 3c4e b010" +
		"01fd 2b1c 0000 0101 080a 3ade 6900 075b" +
		"cd20 0101 050a 1a2b 4036 1a2b 441e"
)

var (
	macA = MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	macB = MAC{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}
	ipA  = netip.MustParseAddr("10.0.0.1")
	ipB  = netip.MustParseAddr("10.0.0.2")
)

// frame decodes a golden hex string; spaces are for reading only.
func frame(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad golden hex: %v", err)
	}
	return b
}

// refChecksum is the RFC 1071 §4.1 reference algorithm written out
// independently of Sum/Fold: add 16-bit big-endian words into a 32-bit
// accumulator, pad an odd byte with zero, fold the carries, complement.
func refChecksum(pieces ...[]byte) uint16 {
	var all []byte
	for _, p := range pieces {
		all = append(all, p...)
	}
	var sum uint32
	for i := 0; i+1 < len(all); i += 2 {
		sum += uint32(all[i])<<8 | uint32(all[i+1])
	}
	if len(all)%2 == 1 {
		sum += uint32(all[len(all)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// refPseudo is the IPv4 pseudo-header of RFC 793 §3.1 as bytes.
func refPseudo(src, dst netip.Addr, proto IPProtocol, length int) []byte {
	s, d := src.As4(), dst.As4()
	b := append(s[:], d[:]...)
	b = append(b, 0, byte(proto))
	return binary.BigEndian.AppendUint16(b, uint16(length))
}

// l3 returns the IPv4 packet and transport segment of a golden IPv4 frame.
func l3(t testing.TB, golden string) (IPv4, []byte) {
	t.Helper()
	e, err := ParseEthernet(frame(t, golden))
	if err != nil {
		t.Fatal(err)
	}
	ip, err := ParseIPv4(e.Payload())
	if err != nil {
		t.Fatal(err)
	}
	return ip, ip.Payload()
}
