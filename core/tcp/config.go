package tcp

import (
	"fmt"
	"time"

	"github.com/microtcp/microtcp/core/tcp/cc"
)

// Config tunes the engine. The zero value of every field means a Linux-like
// default.
type Config struct {
	Secret [16]byte // RFC 6528 ISN key; also keys timestamp offsets and ephemeral ports

	MSS int // our MSS to advertise: the interface MTU minus 40 [1460]

	SendBuffer       int // bytes of send buffer per connection [256 KiB]
	MaxSendBuffer    int // largest send buffer, grown to twice what the path holds while the budget allows [4 MiB]
	ReceiveBuffer    int // bytes of receive buffer per connection [256 KiB]
	MaxReceiveBuffer int // largest receive buffer, sets the window scale [4 MiB]
	MaxOutOfOrder    int // out-of-order ranges kept per connection [16]

	// MemoryBudget bounds the send and receive buffer storage of all the
	// connections of one Endpoints together, in bytes [24 MiB]. Storage
	// is taken as data arrives or is written and given back as it is read
	// or acknowledged. When the budget is short, receive auto-tuning stops
	// growing, the window offered shrinks to what can be stored, Write
	// accepts nothing (the connection is not writable) until memory is
	// returned, and a new connection that could not get 4 segments of
	// buffer each way is refused: Connect fails with ENOBUFS, a SYN is
	// dropped.
	//
	// The default is sized for a library inside someone else's process
	// (issue #6). Linux starts TCP memory pressure at 1/16 of RAM
	// (tcp_mem[1]); 24 MiB is that share of a 384 MiB container, and
	// still holds a bulk flow's largest buffers (4 MiB each way) three
	// times over. Go's collector lets the heap reach about twice what is
	// live, so a stack under full load costs about twice its budget in
	// resident memory: with two stacks in one process moving 1,000 busy
	// connections (bench conc) the peak RSS was 230 MiB at 64 MiB per
	// stack, 160–175 at 32 and 142–144 at 24, at the same throughput.
	MemoryBudget int

	MSL             time.Duration // maximum segment lifetime; TIME-WAIT lasts 2*MSL [30s]
	FinWait2Timeout time.Duration // how long a closed connection waits in FIN-WAIT-2 [60s]

	MinRTO, MaxRTO, InitialRTO time.Duration // RFC 6298 bounds [200ms, 120s, 1s]
	SynRetries                 int           // SYN retransmissions before ETIMEDOUT [6]
	Retries                    int           // data retransmissions before ETIMEDOUT [15]

	DelayedAckTimeout time.Duration // RFC 1122 4.2.3.2 delayed ACK timer [40ms]
	CongestionControl string        // "cubic" or "newreno" [cubic]

	// Keepalive (RFC 1122 4.2.3.6) is off unless a connection turns it on;
	// these are its parameters [2h, 75s, 9 probes].
	KeepAliveIdle     time.Duration
	KeepAliveInterval time.Duration
	KeepAliveCount    int

	MaxSynBacklog     int // half-open connections per listener [256]
	ChallengeACKLimit int // challenge ACKs per second per Endpoints (RFC 5961 §7) [1000]

	// MaxConnections bounds the connections of one Endpoints in every
	// state but CLOSED, TIME-WAIT included [65536]; see limits.go.
	MaxConnections int

	EphemeralLow, EphemeralHigh uint16 // ephemeral port range [32768, 60999]

	NoSACK, NoTimestamps, NoWindowScale bool // switch options off (tests, interop)
	NoSynCookies                        bool // drop SYNs when the SYN queue is full instead (RFC 4987 §3.6)
	NoTLP                               bool // no tail loss probes (RFC 8985 §7)

	// RACK switches on time-based loss detection (RFC 8985 §6) in place
	// of the DupThresh rules of RFC 6675 when SACK is in use. It is off
	// by default: see core/tcp/rack.go for why.
	RACK bool
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MSS, 1460)
	def(&c.SendBuffer, 256<<10)
	def(&c.ReceiveBuffer, 256<<10)
	def(&c.MaxReceiveBuffer, 4<<20)
	def(&c.MaxSendBuffer, 4<<20)
	def(&c.MaxOutOfOrder, 16)
	def(&c.MemoryBudget, 24<<20)
	def(&c.SynRetries, 6)
	def(&c.Retries, 15)
	def(&c.MaxSynBacklog, 256)
	def(&c.MaxConnections, DefaultMaxConnections)
	def(&c.ChallengeACKLimit, 1000)
	defd(&c.MSL, 30*time.Second)
	defd(&c.FinWait2Timeout, 60*time.Second)
	defd(&c.MinRTO, 200*time.Millisecond)
	defd(&c.MaxRTO, 120*time.Second)
	defd(&c.InitialRTO, time.Second)
	defd(&c.DelayedAckTimeout, 40*time.Millisecond)
	defd(&c.KeepAliveIdle, 2*time.Hour)
	defd(&c.KeepAliveInterval, 75*time.Second)
	def(&c.KeepAliveCount, 9)
	if c.EphemeralLow == 0 {
		c.EphemeralLow = 32768
	}
	if c.EphemeralHigh == 0 {
		c.EphemeralHigh = 60999
	}
	if c.MaxReceiveBuffer < c.ReceiveBuffer {
		c.MaxReceiveBuffer = c.ReceiveBuffer
	}
	c.MaxSendBuffer = max(c.MaxSendBuffer, c.SendBuffer)
	switch {
	case c.MSS < 88 || c.MSS > 65495:
		return c, fmt.Errorf("tcp: config: MSS %d outside [88, 65495]", c.MSS)
	case c.EphemeralLow > c.EphemeralHigh:
		return c, fmt.Errorf("tcp: config: ephemeral range %d-%d is empty", c.EphemeralLow, c.EphemeralHigh)
	case c.ReceiveBuffer > 1<<30 || c.SendBuffer > 1<<30 || c.MaxReceiveBuffer > 1<<30 || c.MaxSendBuffer > 1<<30:
		return c, fmt.Errorf("tcp: config: buffers above 1 GiB exceed the largest TCP window (RFC 7323 §2.3)")
	}
	if _, err := cc.New(c.CongestionControl); err != nil {
		return c, fmt.Errorf("tcp: config: %w", err)
	}
	return c, nil
}

// windowShift is the window scale we offer: the smallest shift that lets a
// 16-bit window field cover the largest receive buffer (RFC 7323 §2.2).
func (c *Config) windowShift() uint8 {
	var s uint8
	for s < 14 && c.MaxReceiveBuffer>>s > 0xffff {
		s++
	}
	return s
}
