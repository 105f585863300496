package ipv4

import (
	"flag"
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

var seed = flag.Uint64("seed", 20260101, "seed for the randomised reassembly tests")

var (
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	local  = netip.MustParsePrefix("192.168.1.10/24")
	peer   = netip.MustParseAddr("192.168.1.20")
	remote = netip.MustParseAddr("8.8.8.8")
)

// packet builds an IPv4 packet from fields and payload, TotalLen filled in.
func packet(t testing.TB, f wire.IPv4Fields, payload []byte) wire.IPv4 {
	t.Helper()
	f.TotalLen = wire.IPv4HeaderLen + len(payload)
	b := make([]byte, f.TotalLen)
	f.Encode(b)
	copy(b[wire.IPv4HeaderLen:], payload)
	ip, err := wire.ParseIPv4(b)
	if err != nil {
		t.Fatalf("ParseIPv4: %v", err)
	}
	return ip
}

// fragments splits payload with Fragment and returns copies of the packets.
func fragments(t testing.TB, f wire.IPv4Fields, payload []byte, mtu int) []wire.IPv4 {
	t.Helper()
	var out []wire.IPv4
	err := Fragment(&f, payload, mtu, func(h *wire.IPv4Fields, chunk []byte) {
		b := make([]byte, h.TotalLen)
		h.Encode(b)
		copy(b[wire.IPv4HeaderLen:], chunk)
		out = append(out, wire.IPv4(b))
	})
	if err != nil {
		t.Fatalf("Fragment: %v", err)
	}
	return out
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func udpFields() wire.IPv4Fields {
	return wire.IPv4Fields{ID: 0x1234, TTL: 64, Protocol: wire.ProtoUDP, Src: peer, Dst: local.Addr()}
}
