package udp

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

var (
	us   = netip.MustParseAddr("192.0.2.10")
	peer = netip.MustParseAddrPort("192.0.2.20:4000")
	any4 = netip.IPv4Unspecified()
)

func TestBindConflicts(t *testing.T) {
	tests := []struct {
		name        string
		first, then netip.AddrPort
		wantErr     error
	}{
		{"same wildcard", netip.AddrPortFrom(any4, 53), netip.AddrPortFrom(any4, 53), syscall.EADDRINUSE},
		{"wildcard then exact", netip.AddrPortFrom(any4, 53), netip.AddrPortFrom(us, 53), syscall.EADDRINUSE},
		{"exact then wildcard", netip.AddrPortFrom(us, 53), netip.AddrPortFrom(any4, 53), syscall.EADDRINUSE},
		{"same exact", netip.AddrPortFrom(us, 53), netip.AddrPortFrom(us, 53), syscall.EADDRINUSE},
		{"other port", netip.AddrPortFrom(us, 53), netip.AddrPortFrom(us, 54), nil},
		{"ipv6", netip.AddrPortFrom(us, 53), netip.MustParseAddrPort("[::1]:53"), syscall.EAFNOSUPPORT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := NewTable([16]byte{1}, 0)
			if _, err := tab.Bind(tt.first); err != nil {
				t.Fatalf("first bind: %v", err)
			}
			_, err := tab.Bind(tt.then)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("second bind: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestEphemeralPorts(t *testing.T) {
	tab := NewTable([16]byte{1, 2, 3}, 0)
	seen := map[uint16]bool{}
	sequential := 0
	var last uint16
	for i := range 2000 {
		s, err := tab.Bind(netip.AddrPortFrom(any4, 0))
		if err != nil {
			t.Fatalf("bind %d: %v", i, err)
		}
		p := s.Local().Port()
		if p < EphemeralMin || p > EphemeralMax {
			t.Fatalf("port %d outside %d-%d", p, EphemeralMin, EphemeralMax)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if p == last+1 {
			sequential++
		}
		last = p
	}
	if sequential > 100 {
		t.Fatalf("%d of 2000 ports followed their predecessor: choice looks sequential", sequential)
	}
	// A different secret gives a different first port.
	a, _ := NewTable([16]byte{1}, 0).Bind(netip.AddrPortFrom(any4, 0))
	b, _ := NewTable([16]byte{2}, 0).Bind(netip.AddrPortFrom(any4, 0))
	if a.Local().Port() == b.Local().Port() {
		t.Fatalf("secrets 1 and 2 both chose port %d", a.Local().Port())
	}
}

func TestEphemeralExhaustion(t *testing.T) {
	tab := NewTable([16]byte{}, 0)
	for p := EphemeralMin; p <= EphemeralMax; p++ {
		if _, err := tab.Bind(netip.AddrPortFrom(any4, uint16(p))); err != nil {
			t.Fatalf("bind %d: %v", p, err)
		}
	}
	if _, err := tab.Bind(netip.AddrPortFrom(any4, 0)); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind with every ephemeral port taken: %v, want EADDRINUSE", err)
	}
}

func TestLookupPriority(t *testing.T) {
	tab := NewTable([16]byte{}, 0)
	wild, _ := tab.Bind(netip.AddrPortFrom(any4, 53))
	conn, _ := tab.Bind(netip.AddrPortFrom(any4, 5353))
	if err := conn.Connect(peer, us); err != nil {
		t.Fatal(err)
	}
	exact, _ := tab.Bind(netip.AddrPortFrom(us, 5353))
	other := netip.MustParseAddrPort("192.0.2.30:4000")
	bcast := netip.MustParseAddr("255.255.255.255")
	tests := []struct {
		name     string
		src, dst netip.AddrPort
		want     *Socket
	}{
		{"wildcard gets unicast", peer, netip.AddrPortFrom(us, 53), wild},
		{"wildcard gets broadcast", peer, netip.AddrPortFrom(bcast, 53), wild},
		{"connected peer beats exact", peer, netip.AddrPortFrom(us, 5353), conn},
		{"other peer goes to exact", other, netip.AddrPortFrom(us, 5353), exact},
		{"exact address does not get broadcast", other, netip.AddrPortFrom(bcast, 5353), nil},
		{"unbound port", peer, netip.AddrPortFrom(us, 9), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tab.Lookup(tt.src, tt.dst); got != tt.want {
				t.Fatalf("Lookup(%v, %v) = %p, want %p", tt.src, tt.dst, got, tt.want)
			}
		})
	}
	if got := tab.LookupConnected(netip.AddrPortFrom(us, 5353), peer); got != conn {
		t.Fatalf("LookupConnected = %p, want the connected socket %p", got, conn)
	}
	if got := tab.LookupConnected(netip.AddrPortFrom(us, 53), peer); got != nil {
		t.Fatal("LookupConnected matched an unconnected socket")
	}
}

func TestCloseFreesPortAndWakes(t *testing.T) {
	tab := NewTable([16]byte{}, 0)
	s, _ := tab.Bind(netip.AddrPortFrom(us, 53))
	woken := 0
	s.SetReadableWaker(func() { woken++ })
	if !s.Deliver(peer, []byte("a")) || !s.Deliver(peer, []byte("b")) {
		t.Fatal("deliver refused")
	}
	if woken != 1 {
		t.Fatalf("readable fired %d times for two datagrams into an empty queue, want 1", woken)
	}
	s.Close()
	s.Close()
	if woken != 2 {
		t.Fatalf("readable fired %d times after Close, want 2", woken)
	}
	if tab.Len() != 0 {
		t.Fatalf("Len %d after Close", tab.Len())
	}
	if s.Deliver(peer, []byte("c")) {
		t.Fatal("closed socket accepted a datagram")
	}
	if err := s.Connect(peer, us); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Connect after Close: %v", err)
	}
	if _, err := tab.Bind(netip.AddrPortFrom(us, 53)); err != nil {
		t.Fatalf("rebind after Close: %v", err)
	}
}

func BenchmarkDeliverRead(b *testing.B) {
	b.ReportAllocs()
	tab := NewTable([16]byte{}, 0)
	s, _ := tab.Bind(netip.AddrPortFrom(us, 53))
	payload := make([]byte, 512)
	buf := make([]byte, 2048)
	for b.Loop() {
		s := tab.Lookup(peer, netip.AddrPortFrom(us, 53))
		s.Deliver(peer, payload)
		s.Read(buf)
	}
	_ = s
}
