package microtcp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/core/wire"
)

// Link carries frames: each Write sends one whole frame, each Read returns
// one whole frame, and Close unblocks a pending Read. A TAP device, a TUN
// device, one end of link.Pipe or your own transport will do.
type Link = io.ReadWriteCloser

// LinkType says what a Link's frames are.
type LinkType = stack.LinkType

const (
	// LinkEthernet frames are Ethernet II frames (TAP devices, link.Pipe);
	// the stack runs ARP.
	LinkEthernet = stack.LinkEthernet
	// LinkIP frames are bare IPv4 packets (TUN devices); there is no ARP.
	LinkIP = stack.LinkIP
)

// Config describes one virtual host. Only Addr is required.
type Config struct {
	Addr     netip.Prefix     // this host's IPv4 address and subnet, e.g. 10.0.0.4/24
	Gateway  netip.Addr       // default route; must lie inside Addr's subnet; zero = none
	MAC      net.HardwareAddr // Ethernet only; a random locally administered one if nil
	MTU      int              // link MTU in bytes of IP packet [1500], at least 68 (RFC 791)
	LinkType LinkType         // [LinkEthernet]

	// UDPReceiveBuffer is the bytes of queued datagrams per UDP socket
	// [212992, Linux's rmem_default]; beyond it datagrams are dropped.
	UDPReceiveBuffer int

	// TCPSendBuffer and TCPReceiveBuffer are the bytes each TCP connection
	// buffers [256 KiB each]; the receive buffer grows by itself up to
	// 4 MiB when the application keeps up.
	TCPSendBuffer    int
	TCPReceiveBuffer int
	// MaxTCPSendBuffer and MaxTCPReceiveBuffer bound how far each
	// connection's buffers grow by themselves [4 MiB each]: the send
	// buffer to twice what the path holds, the receive buffer while the
	// application keeps up (it also sets the window scale). A value below
	// the matching starting size is raised to it.
	MaxTCPSendBuffer    int
	MaxTCPReceiveBuffer int
	// CongestionControl is "cubic" (RFC 9438) or "newreno" (RFC 6582)
	// [cubic].
	CongestionControl string
	// MSL is the maximum segment lifetime; TIME-WAIT lasts 2×MSL [30 s].
	MSL time.Duration
	// TCPMemoryBudget bounds the buffer memory of all TCP connections of
	// the stack together, in bytes [24 MiB]: past it windows shrink, writes
	// wait and new connections get ENOBUFS instead of the heap growing.
	// The default follows Linux, whose TCP memory pressure starts at 1/16
	// of RAM (24 MiB of 384 MiB), and holds a bulk flow's largest windows
	// (4 MiB each way) three times over. Expect up to about twice the
	// budget in resident memory under full load: Go's collector lets the
	// heap grow to twice what is live before it collects.
	TCPMemoryBudget int
	// MaxTCPConnections bounds the TCP connections the stack holds in
	// every state, TIME-WAIT included [0 = 65536]. At the limit Dial
	// fails with an error wrapping syscall.ENOBUFS and incoming SYNs are
	// dropped (counted in Stats().TCP.ConnLimitDrops); a TIME-WAIT
	// connection is ended early rather than a new one refused.
	MaxTCPConnections int
	// RACK turns on RACK-TLP loss detection (RFC 8985), which tolerates
	// reordering far better but is not yet as fast under random loss.
	RACK bool
}

// minMTU is the smallest MTU every IPv4 module must accept (RFC 791
// section 3.2, "Fragmentation": every internet module must be able to
// forward a datagram of 68 octets without further fragmentation).
const minMTU = 68

// maxMTU is the largest IPv4 packet (RFC 791: Total Length is 16 bits).
const maxMTU = 65535

// defaultMTU is Ethernet's.
const defaultMTU = 1500

// stackConfig validates c and returns the core configuration, filling the
// random parts (MAC, Secret) from crypto/rand.
func (c Config) stackConfig() (stack.Config, error) {
	var sc stack.Config
	if !c.Addr.IsValid() || !c.Addr.Addr().Is4() {
		return sc, errors.New("microtcp: Config.Addr must be an IPv4 prefix, e.g. 10.0.0.4/24")
	}
	if c.Addr.Addr().IsUnspecified() || c.Addr.Addr().IsMulticast() || c.Addr.Addr() == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return sc, fmt.Errorf("microtcp: Config.Addr %v is not a unicast address", c.Addr)
	}
	if c.Gateway.IsValid() {
		gw := c.Gateway.Unmap()
		if !gw.Is4() {
			return sc, fmt.Errorf("microtcp: Config.Gateway %v is not an IPv4 address", c.Gateway)
		}
		// The gateway is a next hop, so it must be on the link.
		if !c.Addr.Masked().Contains(gw) || gw == c.Addr.Addr() {
			return sc, fmt.Errorf("microtcp: Config.Gateway %v is not another host of subnet %v", c.Gateway, c.Addr.Masked())
		}
		sc.Gateway = gw
	}
	switch c.LinkType {
	case LinkEthernet:
		sc.LinkType = stack.LinkEthernet
		mac, err := macOf(c.MAC)
		if err != nil {
			return sc, err
		}
		sc.MAC = mac
	case LinkIP:
		sc.LinkType = stack.LinkIP
		if c.MAC != nil {
			return sc, errors.New("microtcp: Config.MAC is set but LinkType is LinkIP, which has no hardware address")
		}
	default:
		return sc, fmt.Errorf("microtcp: Config.LinkType %v is unknown", c.LinkType)
	}
	switch mtu := c.MTU; {
	case mtu == 0:
		sc.MTU = defaultMTU
	case mtu < minMTU:
		return sc, fmt.Errorf("microtcp: Config.MTU %d is below the IPv4 minimum of %d", mtu, minMTU)
	case mtu > maxMTU:
		return sc, fmt.Errorf("microtcp: Config.MTU %d is above the IPv4 maximum of %d", mtu, maxMTU)
	default:
		sc.MTU = mtu
	}
	if c.UDPReceiveBuffer < 0 {
		return sc, fmt.Errorf("microtcp: Config.UDPReceiveBuffer %d is negative", c.UDPReceiveBuffer)
	}
	sc.UDPReceiveBuffer = c.UDPReceiveBuffer
	if c.TCPSendBuffer < 0 || c.TCPReceiveBuffer < 0 {
		return sc, fmt.Errorf("microtcp: Config.TCPSendBuffer %d and TCPReceiveBuffer %d must not be negative", c.TCPSendBuffer, c.TCPReceiveBuffer)
	}
	if c.MaxTCPSendBuffer < 0 || c.MaxTCPReceiveBuffer < 0 {
		return sc, fmt.Errorf("microtcp: Config.MaxTCPSendBuffer %d and MaxTCPReceiveBuffer %d must not be negative", c.MaxTCPSendBuffer, c.MaxTCPReceiveBuffer)
	}
	if c.TCPMemoryBudget < 0 {
		return sc, fmt.Errorf("microtcp: Config.TCPMemoryBudget %d must not be negative", c.TCPMemoryBudget)
	}
	if c.MaxTCPConnections < 0 {
		return sc, fmt.Errorf("microtcp: Config.MaxTCPConnections %d must not be negative", c.MaxTCPConnections)
	}
	if c.MSL < 0 {
		return sc, fmt.Errorf("microtcp: Config.MSL %v is negative", c.MSL)
	}
	switch c.CongestionControl {
	case "", "cubic", "newreno":
	default:
		return sc, fmt.Errorf("microtcp: Config.CongestionControl %q is unknown: want \"cubic\" or \"newreno\"", c.CongestionControl)
	}
	sc.TCP.SendBuffer = c.TCPSendBuffer
	sc.TCP.ReceiveBuffer = c.TCPReceiveBuffer
	sc.TCP.MaxSendBuffer = c.MaxTCPSendBuffer
	sc.TCP.MaxReceiveBuffer = c.MaxTCPReceiveBuffer
	sc.TCP.CongestionControl = c.CongestionControl
	sc.TCP.MSL = c.MSL
	sc.TCP.MemoryBudget = c.TCPMemoryBudget
	sc.TCP.RACK = c.RACK
	sc.TCP.MaxConnections = c.MaxTCPConnections
	sc.Addr = c.Addr
	if _, err := rand.Read(sc.Secret[:]); err != nil {
		return sc, fmt.Errorf("microtcp: reading a random secret: %w", err)
	}
	return sc, nil
}

// macOf checks a configured MAC or makes a random one.
func macOf(hw net.HardwareAddr) (wire.MAC, error) {
	var mac wire.MAC
	if hw == nil {
		if _, err := rand.Read(mac[:]); err != nil {
			return mac, fmt.Errorf("microtcp: reading a random MAC: %w", err)
		}
		// IEEE 802: clear the group bit (unicast), set the locally
		// administered bit so it cannot clash with a vendor's address.
		mac[0] = mac[0]&^0x01 | 0x02
		return mac, nil
	}
	if len(hw) != len(mac) {
		return mac, fmt.Errorf("microtcp: Config.MAC %v has %d bytes, Ethernet needs %d", hw, len(hw), len(mac))
	}
	copy(mac[:], hw)
	if mac.IsMulticast() {
		return mac, fmt.Errorf("microtcp: Config.MAC %v is a group address, a host needs a unicast one", hw)
	}
	if mac == (wire.MAC{}) {
		return mac, errors.New("microtcp: Config.MAC is all zeros")
	}
	return mac, nil
}
