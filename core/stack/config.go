package stack

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/arp"
	"github.com/microtcp/microtcp/core/tcp"
	"github.com/microtcp/microtcp/core/wire"
)

// LinkType says what a frame is.
type LinkType int

const (
	// LinkEthernet frames are Ethernet II frames (a TAP device, link.Pipe).
	LinkEthernet LinkType = iota
	// LinkIP frames are bare IPv4 packets (a TUN device): no Ethernet
	// header, no ARP, every destination is reached through the link.
	LinkIP
)

func (t LinkType) String() string {
	switch t {
	case LinkEthernet:
		return "ethernet"
	case LinkIP:
		return "ip"
	}
	return fmt.Sprintf("LinkType(%d)", int(t))
}

// Config describes one host. Zero fields take the defaults in brackets.
type Config struct {
	Addr     netip.Prefix // our IPv4 address and on-link prefix (required)
	Gateway  netip.Addr   // default router (optional; must be on-link)
	MAC      wire.MAC     // our hardware address (required for LinkEthernet)
	MTU      int          // largest IPv4 packet on the link [1500], at least 68 (RFC 791)
	LinkType LinkType

	// Secret keys every choice an attacker should not predict: ephemeral
	// ports, IP identifiers, ICMP echo identifiers, later TCP ISNs.
	Secret [16]byte

	UDPReceiveBuffer int        // bytes of queued datagrams per socket [212992, Linux rmem_default]
	ARP              arp.Config // tuning; MAC and Addr are filled in by the stack

	// TCP tunes the engine. MSS defaults to MTU−40 (RFC 9293 §3.7.1: the
	// IP and TCP headers without options) and Secret to the stack's.
	TCP tcp.Config

	ICMPRateLimit int // ICMP error messages per second [1000, Linux icmp_msgs_per_sec]
	ICMPRateBurst int // burst of ICMP error messages [50, Linux icmp_msgs_burst]

	ReassemblyTimeout time.Duration // [30s]
	MaxReassemblies   int           // datagrams under reassembly at once [64]
}

// ErrBadConfig is wrapped by New when a Config field is invalid.
var ErrBadConfig = errors.New("stack: bad config")

// Defaults.
const (
	DefaultMTU           = 1500
	MinMTU               = 68 // RFC 791: every module must forward 68 bytes without fragmenting
	DefaultICMPRateLimit = 1000
	DefaultICMPRateBurst = 50
	DefaultTTL           = 64 // RFC 1700 / Linux ip_default_ttl
	MaxUDPPayload        = 65535 - wire.IPv4HeaderLen - wire.UDPHeaderLen

	// DefaultARPPendingFrames replaces arp's smaller default for packets
	// waiting on one neighbour.
	DefaultARPPendingFrames = 64
	// FailedNeighbourHold is how long sends to a next hop that failed ARP
	// fail at once with EHOSTUNREACH instead of resolving again.
	FailedNeighbourHold = 3 * time.Second

	// minTCPMSS is the smallest MSS the TCP engine accepts.
	minTCPMSS = 88
)

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if !c.Addr.IsValid() || !c.Addr.Addr().Is4() {
		return c, fmt.Errorf("%w: Addr %v: want an IPv4 prefix", ErrBadConfig, c.Addr)
	}
	a := c.Addr.Addr()
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return c, fmt.Errorf("%w: Addr %v: not a unicast address", ErrBadConfig, c.Addr)
	}
	if c.Gateway.IsValid() {
		if !c.Gateway.Is4() || !c.Addr.Masked().Contains(c.Gateway) {
			return c, fmt.Errorf("%w: Gateway %v: not on-link in %v", ErrBadConfig, c.Gateway, c.Addr)
		}
	}
	switch c.LinkType {
	case LinkEthernet:
		if c.MAC == (wire.MAC{}) || c.MAC.IsMulticast() {
			return c, fmt.Errorf("%w: MAC %v: want a unicast address", ErrBadConfig, c.MAC)
		}
	case LinkIP:
	default:
		return c, fmt.Errorf("%w: LinkType %v", ErrBadConfig, c.LinkType)
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.MTU < MinMTU || c.MTU > 65535 {
		return c, fmt.Errorf("%w: MTU %d: want %d..65535", ErrBadConfig, c.MTU, MinMTU)
	}
	if c.UDPReceiveBuffer < 0 {
		return c, fmt.Errorf("%w: UDPReceiveBuffer %d < 0", ErrBadConfig, c.UDPReceiveBuffer)
	}
	if c.UDPReceiveBuffer == 0 {
		c.UDPReceiveBuffer = 212992
	}
	if c.ICMPRateLimit == 0 {
		c.ICMPRateLimit = DefaultICMPRateLimit
	}
	if c.ICMPRateBurst == 0 {
		c.ICMPRateBurst = DefaultICMPRateBurst
	}
	if c.ICMPRateLimit < 0 || c.ICMPRateBurst < 0 {
		return c, fmt.Errorf("%w: ICMP rate limit %d burst %d", ErrBadConfig, c.ICMPRateLimit, c.ICMPRateBurst)
	}
	if c.ReassemblyTimeout < 0 || c.MaxReassemblies < 0 {
		return c, fmt.Errorf("%w: reassembly timeout %v max %d", ErrBadConfig, c.ReassemblyTimeout, c.MaxReassemblies)
	}
	if c.ARP.MaxPendingFrames == 0 {
		// A 65507-byte datagram is 45 fragments at MTU 1500: let the first
		// one sent to a new neighbour wait whole rather than lose its head.
		c.ARP.MaxPendingFrames = DefaultARPPendingFrames
	}
	if c.TCP.MSS == 0 {
		// The engine accepts no MSS below 88; smaller MTUs fragment
		// (tcpOutput.SendTCP clears DF for them).
		c.TCP.MSS = max(c.MTU-wire.IPv4HeaderLen-wire.TCPHeaderLen, minTCPMSS)
	}
	if c.TCP.Secret == ([16]byte{}) {
		c.TCP.Secret = c.Secret
	}
	c.ARP.MAC = c.MAC
	c.ARP.Addr = a
	return c, nil
}
