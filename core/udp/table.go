package udp

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"syscall"
)

// Ephemeral port range, as Linux's default net.ipv4.ip_local_port_range.
const (
	EphemeralMin = 32768
	EphemeralMax = 60999
)

// DefaultReceiveBuffer is Linux's net.core.rmem_default.
const DefaultReceiveBuffer = 212992

// Table holds the bound UDP sockets of one host.
type Table struct {
	ports  map[uint16][]*Socket
	rng    *rand.ChaCha8
	rcvBuf int
	n      int
}

// NewTable returns an empty table. secret keys the ephemeral port choice so
// that ports are not predictable from outside (RFC 6056 §3.3.1 spirit);
// receiveBuffer is the per-socket queue size in bytes (zero = default).
func NewTable(secret [16]byte, receiveBuffer int) *Table {
	if receiveBuffer <= 0 {
		receiveBuffer = DefaultReceiveBuffer
	}
	seed := sha256.Sum256(append([]byte("microtcp udp ports"), secret[:]...))
	return &Table{
		ports:  make(map[uint16][]*Socket),
		rng:    rand.NewChaCha8(seed),
		rcvBuf: receiveBuffer,
	}
}

// Len returns the number of bound sockets.
func (t *Table) Len() int { return t.n }

// Bind creates a socket bound to local. Port 0 picks a free ephemeral port;
// an unspecified address binds every local address. A port already bound
// to the same or an overlapping address fails with EADDRINUSE (no
// SO_REUSEADDR). The caller checks that the address is ours.
func (t *Table) Bind(local netip.AddrPort) (*Socket, error) {
	addr := local.Addr()
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	if !addr.Is4() {
		return nil, fmt.Errorf("udp: bind %v: not an IPv4 address: %w", local, syscall.EAFNOSUPPORT)
	}
	port := local.Port()
	if port == 0 {
		p, ok := t.ephemeral(addr)
		if !ok {
			return nil, fmt.Errorf("udp: bind %v: no free ephemeral port: %w", local, syscall.EADDRINUSE)
		}
		port = p
	} else if t.inUse(addr, port) {
		return nil, fmt.Errorf("udp: bind %v: %w", local, syscall.EADDRINUSE)
	}
	s := &Socket{
		table: t,
		local: netip.AddrPortFrom(addr, port),
		q:     queue{capacity: t.rcvBuf},
	}
	t.ports[port] = append(t.ports[port], s)
	t.n++
	return s, nil
}

// inUse reports whether binding addr:port would clash with a bound socket.
func (t *Table) inUse(addr netip.Addr, port uint16) bool {
	for _, s := range t.ports[port] {
		la := s.local.Addr()
		if la == addr || la.IsUnspecified() || addr.IsUnspecified() {
			return true
		}
	}
	return false
}

// ephemeral picks a free port in the ephemeral range: a keyed random start
// then a linear scan (RFC 6056 §3.3.1, Algorithm 1, with a keyed generator
// instead of a global one).
func (t *Table) ephemeral(addr netip.Addr) (uint16, bool) {
	const n = EphemeralMax - EphemeralMin + 1
	start := int(t.rng.Uint64() % n)
	for i := range n {
		p := uint16(EphemeralMin + (start+i)%n)
		if !t.inUse(addr, p) {
			return p, true
		}
	}
	return 0, false
}

// Lookup returns the socket that should receive a datagram from src to dst,
// or nil. A socket matches when its port is dst's port, its bound address is
// dst's or unspecified, and, if connected, its remote is src. Among matches,
// a connected socket beats an unconnected one and an exact address beats a
// wildcard (like Linux's compute_score).
func (t *Table) Lookup(src, dst netip.AddrPort) *Socket {
	var best *Socket
	bestScore := -1
	for _, s := range t.ports[dst.Port()] {
		score := 0
		switch la := s.local.Addr(); {
		case la == dst.Addr():
			score++
		case !la.IsUnspecified():
			continue
		}
		if s.remote.IsValid() {
			if s.remote != src {
				continue
			}
			score += 2
		}
		if score > bestScore {
			best, bestScore = s, score
		}
	}
	return best
}

// LookupConnected returns the connected socket whose local port is
// local.Port() and whose remote is remote, or nil. It matches the quoted
// header of an ICMP error to the socket that sent the datagram.
func (t *Table) LookupConnected(local, remote netip.AddrPort) *Socket {
	for _, s := range t.ports[local.Port()] {
		la := s.local.Addr()
		if s.remote == remote && (la == local.Addr() || la.IsUnspecified()) {
			return s
		}
	}
	return nil
}

// remove unbinds s.
func (t *Table) remove(s *Socket) {
	list := t.ports[s.local.Port()]
	for i, x := range list {
		if x == s {
			list = append(list[:i], list[i+1:]...)
			t.n--
			break
		}
	}
	if len(list) == 0 {
		delete(t.ports, s.local.Port())
	} else {
		t.ports[s.local.Port()] = list
	}
}

// Sockets appends every bound socket to dst and returns it.
func (t *Table) Sockets(dst []*Socket) []*Socket {
	for _, list := range t.ports {
		dst = append(dst, list...)
	}
	return dst
}
