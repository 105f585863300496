package tap

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
	"github.com/microtcp/microtcp/internal/netnstest"
)

// hostUDP opens a UDP socket in ns connected to the peer's discard port, so
// each Write makes the kernel send one packet into the device.
func hostUDP(t testing.TB, ns string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := netnstest.InNetns(t, ns, func() error {
		var err error
		c, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(testPeer, 9)))
		return err
	})
	if err != nil {
		t.Fatalf("UDP socket in %s: %v", ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUDPTo reads until an IPv4/UDP packet to the peer's port 9 arrives,
// skipping what the kernel sends on its own (IPv6 router solicitations…).
// It returns the byte count and error of that Read.
func readUDPTo(t *testing.T, dev *Device, buf []byte) (int, error) {
	t.Helper()
	for {
		n, err := dev.Read(buf)
		if err != nil && !errors.Is(err, io.ErrShortBuffer) {
			t.Fatalf("Read: %v", err)
		}
		p := buf[:n]
		// The packet may be cut short, so check only the headers that
		// fit: the IPv4 header, then the UDP ports.
		ip := wire.IPv4(p)
		if len(p) < wire.IPv4HeaderLen+4 || p[0] != 0x45 || ip.Protocol() != wire.ProtoUDP || ip.Dst() != testPeer {
			continue
		}
		if u := wire.UDP(ip[wire.IPv4HeaderLen:]); u.DstPort() == 9 {
			return n, err
		}
	}
}

// TestReadShortBuffer checks that a packet longer than the buffer is
// consumed whole and reported with io.ErrShortBuffer, and that the next
// Read starts at the next packet.
func TestReadShortBuffer(t *testing.T) {
	ns := netnstest.New(t, testNetnsPrefix)
	dev := openIn(t, ns, Config{Mode: TUN, HostAddr: testHost})
	host := hostUDP(t, ns)
	first := bytes.Repeat([]byte{0xa1}, 100)
	second := bytes.Repeat([]byte{0xb2}, 60)

	if _, err := host.Write(first); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 30)
	n, err := readUDPTo(t, dev, small)
	if n != len(small) || !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("Read of a %d-byte packet into %d bytes = %d, %v; want %d, io.ErrShortBuffer",
			wire.IPv4HeaderLen+8+len(first), len(small), n, err, len(small))
	}
	if !bytes.Equal(small[28:], first[:2]) {
		t.Errorf("truncated packet ends % x, want the payload's first bytes % x", small[28:], first[:2])
	}

	if _, err := host.Write(second); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 2048)
	n, err = readUDPTo(t, dev, big)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	ip, perr := wire.ParseIPv4(big[:n])
	if perr != nil || n != wire.IPv4HeaderLen+8+len(second) {
		t.Fatalf("next Read = %d bytes (%v), want the %d-byte second packet", n, perr, wire.IPv4HeaderLen+8+len(second))
	}
	if got := ip.Payload()[8:]; !bytes.Equal(got, second) {
		t.Errorf("second packet payload % x, want % x", got, second)
	}
}

// BenchmarkTUNRoundTrip measures one packet each way: a kernel socket
// sends a datagram into the device, Read takes it, and Write returns it to
// the socket with the addresses and ports swapped.
func BenchmarkTUNRoundTrip(b *testing.B) {
	ns := netnstest.New(b, testNetnsPrefix)
	dev := openIn(b, ns, Config{Mode: TUN, HostAddr: testHost})
	host := hostUDP(b, ns)
	payload := make([]byte, 1024)
	buf := make([]byte, 64<<10)
	reply := make([]byte, 64<<10)
	got := make([]byte, 2048)
	b.SetBytes(int64(2 * len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := host.Write(payload); err != nil {
			b.Fatal(err)
		}
		var pkt []byte
		for pkt == nil {
			n, err := dev.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			if ip, err := wire.ParseIPv4(buf[:n]); err == nil && ip.Dst() == testPeer && ip.Protocol() == wire.ProtoUDP {
				pkt = ip
			}
		}
		n := udpMirror(reply, pkt)
		if n == 0 {
			b.Fatalf("not a UDP datagram: % x", pkt)
		}
		if _, err := dev.Write(reply[:n]); err != nil {
			b.Fatal(err)
		}
		if n, err := host.Read(got); err != nil || n != len(payload) {
			b.Fatalf("host read %d, %v", n, err)
		}
	}
}

// udpMirror writes into out the UDP datagram in ip sent back to its
// source with ports swapped, and returns its length, or 0 if ip does not
// hold a UDP datagram.
func udpMirror(out []byte, ip wire.IPv4) int {
	u, err := wire.ParseUDP(ip.Payload())
	if err != nil {
		return 0
	}
	n := wire.IPv4HeaderLen + len(u)
	copy(out[wire.IPv4HeaderLen+wire.UDPHeaderLen:], u.Payload())
	uh := wire.UDPFields{SrcPort: u.DstPort(), DstPort: u.SrcPort()}
	uh.Encode(out[wire.IPv4HeaderLen:n], ip.Dst(), ip.Src())
	h := wire.IPv4Fields{TotalLen: n, TTL: 64, Protocol: wire.ProtoUDP, Src: ip.Dst(), Dst: ip.Src()}
	h.Encode(out)
	return n
}
