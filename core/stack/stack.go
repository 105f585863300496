package stack

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/arp"
	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/tcp"
	"github.com/microtcp/microtcp/core/udp"
	"github.com/microtcp/microtcp/core/wire"
)

// ErrResolving is returned by a send that waits for neighbour resolution:
// the datagram is queued; wait for the writable waker, then ask SendResult.
var ErrResolving = errors.New("stack: waiting for neighbour resolution")

// Stack is one virtual IPv4 host. It is not safe for concurrent use.
type Stack struct {
	cfg     Config
	addr    netip.Addr
	linkHdr int // bytes of link header in front of every IPv4 packet

	arp    *arp.Cache // nil on LinkIP
	reasm  *ipv4.Reassembler
	icmpRL *ipv4.RateLimiter
	udp    *udp.Table
	tcp    *tcp.Endpoints

	udpOwners map[*udp.Socket]*UDPSocket
	echo      map[uint16]*EchoSocket
	echoRand  *rand.ChaCha8

	// waiters are the sockets whose last send waits for the resolution of
	// a next hop; the arp Output callbacks complete them.
	waiters map[netip.Addr][]*sendState
	// failed holds next hops whose resolution failed, with when.
	failed map[netip.Addr]time.Time
	// unreachable holds next hops ARP gave up on since the last finish,
	// for TCP connections still opening through them.
	unreachable []netip.Addr

	ipID    uint16    // RFC 6864: unique per (src, dst, protocol) while in flight; a counter suffices
	out     [][]byte  // frames for TakeFrames
	loop    [][]byte  // frames to ourselves (link header unused), delivered by drainLoop
	looping bool      // drainLoop is running (it must not nest)
	now     time.Time // the now of the current call
	expired func(wire.IPv4)

	// Spent frame buffers for newFrame (frames.go).
	freeSmall      [][]byte
	freeLarge      [][]byte
	freeLargeBytes int

	// linkRoom is how many more frames the link takes (linkroom.go);
	// negative for no limit.
	linkRoom int

	stats  Stats
	closed bool
}

// New validates cfg and returns a stack. On Ethernet it queues a gratuitous
// ARP announcement of our address (RFC 5227 §3).
func New(cfg Config, now time.Time) (*Stack, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256(append([]byte("microtcp stack"), cfg.Secret[:]...))
	s := &Stack{
		cfg:       cfg,
		addr:      cfg.Addr.Addr(),
		reasm:     ipv4.NewReassembler(ipv4.ReassemblerConfig{Timeout: cfg.ReassemblyTimeout, MaxDatagrams: cfg.MaxReassemblies}),
		icmpRL:    ipv4.NewRateLimiter(cfg.ICMPRateLimit, cfg.ICMPRateBurst),
		udp:       udp.NewTable(cfg.Secret, cfg.UDPReceiveBuffer),
		udpOwners: make(map[*udp.Socket]*UDPSocket),
		echo:      make(map[uint16]*EchoSocket),
		echoRand:  rand.NewChaCha8(key),
		waiters:   make(map[netip.Addr][]*sendState),
		failed:    make(map[netip.Addr]time.Time),
		ipID:      binary.BigEndian.Uint16(key[:]),
		now:       now,
		linkRoom:  -1,
	}
	s.expired = s.reassemblyExpired
	s.tcp, err = tcp.New(cfg.TCP)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	if cfg.LinkType == LinkEthernet {
		s.linkHdr = wire.EthernetHeaderLen
		s.arp, err = arp.New(cfg.ARP)
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		s.arp.Announce(now, s.arpOut())
	}
	return s, nil
}

// Addr returns our IPv4 address.
func (s *Stack) Addr() netip.Addr { return s.addr }

// Config returns the configuration with defaults filled in.
func (s *Stack) Config() Config { return s.cfg }

// Poll runs the timers that are due: ARP retries and expiry, reassembly
// timeouts, TCP timers.
func (s *Stack) Poll(now time.Time) {
	if s.closed {
		return
	}
	s.now = now
	if s.arp != nil {
		s.arp.Poll(now, s.arpOut())
	}
	s.reasm.Poll(now, s.expired)
	s.tcp.Poll(now, s.tcpOut())
	s.finish()
}

// NextDeadline returns when Poll should next run; zero means no timer is
// pending.
func (s *Stack) NextDeadline() time.Time {
	if s.closed {
		return time.Time{}
	}
	d := earliest(s.reasm.NextDeadline(), s.tcp.NextDeadline())
	if s.arp != nil {
		d = earliest(d, s.arp.NextDeadline())
	}
	return d
}

// earliest returns the earlier of two deadlines, where zero means none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// TakeFrames appends the queued outbound frames to dst, oldest first, and
// forgets them: the caller owns the returned buffers, and may give them
// back with RecycleFrames once it is done with them.
func (s *Stack) TakeFrames(dst [][]byte) [][]byte {
	dst = append(dst, s.out...)
	clear(s.out)
	s.out = s.out[:0]
	return dst
}

// Stats returns a copy of the counters.
func (s *Stack) Stats() Stats {
	st := s.stats
	if s.arp != nil {
		st.ARP.Cache = s.arp.Stats()
	}
	st.IPv4.Reassembly = s.reasm.Stats()
	st.TCP.Stats = s.tcp.Stats()
	return st
}

// Close closes every socket (their wakers fire; later calls on them return
// net.ErrClosed), closes every TCP listener and aborts every TCP connection
// with a RST, queued like any frame. Input and Poll become no-ops; frames
// already queued can still be taken.
func (s *Stack) Close() {
	if s.closed {
		return
	}
	s.tcp.Shutdown(s.now, s.tcpOut())
	for _, sock := range s.udp.Sockets(nil) {
		if u := s.udpOwners[sock]; u != nil {
			u.Close()
		}
	}
	for _, e := range s.echo {
		e.Close()
	}
	s.closed = true
	s.loop = nil
	s.freeSmall, s.freeLarge, s.freeLargeBytes = nil, nil, 0
	s.unreachable = nil
	clear(s.waiters)
}

// queueFrame hands a finished frame to TakeFrames.
func (s *Stack) queueFrame(frame []byte) {
	s.out = append(s.out, frame)
	s.stats.Link.FramesOut++
	s.useLinkRoom()
}

// nextID returns the identification for a new datagram.
func (s *Stack) nextID() uint16 {
	s.ipID++
	return s.ipID
}
