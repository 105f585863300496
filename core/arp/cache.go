package arp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// ErrBadConfig is wrapped by New when a Config field is unusable.
var ErrBadConfig = errors.New("arp: bad config")

// Defaults for zero Config fields.
const (
	DefaultMaxEntries       = 512
	DefaultReachableTime    = 30 * time.Second
	DefaultRetryInterval    = time.Second
	DefaultMaxRequests      = 3
	DefaultMaxPendingFrames = 16
	DefaultGCStaleTime      = 60 * time.Second
)

// Cache is the neighbour cache of one interface. It is not safe for
// concurrent use: the stack serialises every call.
type Cache struct {
	cfg     Config
	entries map[netip.Addr]*entry
	lru     lruList
	stats   Stats

	// deadline is never later than the earliest timer of any entry. Input
	// and Resolve only lower it (O(1)); Poll, which scans anyway, makes it
	// exact again. An early value costs one idle Poll, a late one would
	// lose a retry.
	deadline time.Time
}

// New checks cfg, fills in defaults and returns an empty cache.
func New(cfg Config) (*Cache, error) {
	if cfg.MAC == (wire.MAC{}) || cfg.MAC.IsMulticast() {
		return nil, fmt.Errorf("arp: MAC %v must be a non-zero unicast address: %w", cfg.MAC, ErrBadConfig)
	}
	if !cfg.Addr.Is4() || !unicast(cfg.Addr) {
		return nil, fmt.Errorf("arp: Addr %v must be a unicast IPv4 address: %w", cfg.Addr, ErrBadConfig)
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxEntries", &cfg.MaxEntries, DefaultMaxEntries},
		{"MaxRequests", &cfg.MaxRequests, DefaultMaxRequests},
		{"MaxPendingFrames", &cfg.MaxPendingFrames, DefaultMaxPendingFrames},
	} {
		if *f.v < 0 {
			return nil, fmt.Errorf("arp: %s %d is negative: %w", f.name, *f.v, ErrBadConfig)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReachableTime", &cfg.ReachableTime, DefaultReachableTime},
		{"RetryInterval", &cfg.RetryInterval, DefaultRetryInterval},
		{"GCStaleTime", &cfg.GCStaleTime, DefaultGCStaleTime},
	} {
		if *f.v < 0 {
			return nil, fmt.Errorf("arp: %s %v is negative: %w", f.name, *f.v, ErrBadConfig)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return &Cache{cfg: cfg, entries: make(map[netip.Addr]*entry)}, nil
}

// unicast reports whether a may be a neighbour's address.
func unicast(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// Input handles a received ARP packet, following RFC 826 "Packet
// reception". pkt is borrowed for the call.
func (c *Cache) Input(now time.Time, pkt wire.ARP, out Output) {
	spa, sha := pkt.SenderIP(), pkt.SenderMAC()
	// A sender claiming our address, no address, or a group hardware
	// address cannot be a neighbour; learning it would poison the cache
	// (RFC 5227 §2.1.1 leaves conflict handling to the host; we only refuse).
	if spa == c.cfg.Addr || !unicast(spa) || sha.IsMulticast() || sha == (wire.MAC{}) || sha == c.cfg.MAC {
		c.stats.Ignored++
		return
	}
	op := pkt.Op()
	switch op {
	case wire.ARPRequest:
		c.stats.RequestsIn++
	case wire.ARPReply:
		c.stats.RepliesIn++
	default:
		c.stats.Ignored++
		return
	}
	forUs := pkt.TargetIP() == c.cfg.Addr

	// RFC 826: "If the pair <protocol type, sender protocol address> is
	// already in my translation table, update the sender hardware address
	// field of the entry with the new information in the packet and set
	// Merge_flag to true."
	e, merged := c.entries[spa]
	if !merged && !forUs {
		c.stats.Ignored++
		return
	}
	if !merged {
		// RFC 826: "If Merge_flag is false, add the triplet <protocol
		// type, sender protocol address, sender hardware address> to the
		// translation table." Only when we are the target.
		e = c.insert(now, spa, reachable, out)
	}
	c.confirm(now, e, sha, out)

	// RFC 826: "If the opcode is ares_op$REQUEST ... swap hardware and
	// protocol fields, putting the local hardware and protocol addresses
	// in the sender fields ... send the packet to the (new) target
	// hardware address."
	if forUs && op == wire.ARPRequest {
		c.stats.RepliesOut++
		out.SendARP(&wire.ARPFields{
			Op:        wire.ARPReply,
			SenderMAC: c.cfg.MAC,
			SenderIP:  c.cfg.Addr,
			TargetMAC: sha,
			TargetIP:  spa,
		}, sha)
	}
}

// confirm records that ip is at mac as of now. An entry that was waiting
// for its first answer releases its queue.
func (c *Cache) confirm(now time.Time, e *entry, mac wire.MAC, out Output) {
	wasIncomplete := e.state == incomplete
	e.mac = mac
	e.state = reachable
	e.confirmed = now
	e.requests = 0
	c.lower(e.deadline(&c.cfg))
	if !wasIncomplete {
		return
	}
	c.stats.Resolved++
	// Detach the queue before calling out, so that a re-entrant Resolve
	// sees a consistent entry.
	q := e.queue
	e.queue = nil
	for _, p := range q {
		out.SendIP(p, mac)
	}
	out.Resolved(e.ip)
}

// Resolve returns the hardware address of next hop ip. With ok=false a copy
// of packet (if non-nil) waits in the cache until ip resolves (then
// Output.SendIP) or resolution fails (then Output.Unreachable); a
// resolution starts at once unless one is already running. packet is
// borrowed for the call.
//
// The limited broadcast and multicast addresses map without asking anyone.
// Other addresses that cannot be a neighbour (unspecified, non-IPv4, our
// own) fail through the usual path on the next Poll, so callers see one
// behaviour.
func (c *Cache) Resolve(now time.Time, ip netip.Addr, packet []byte, out Output) (mac wire.MAC, ok bool) {
	if ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return wire.BroadcastMAC, true
	}
	if ip.Is4() && ip.IsMulticast() {
		// RFC 1112 §6.4: 01-00-5E followed by the low 23 bits of the group.
		a := ip.As4()
		return wire.MAC{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}, true
	}
	e := c.entries[ip]
	if e != nil && e.state != incomplete {
		c.lru.moveToFront(e)
		e.lastUsed = now
		if e.state == reachable && !now.Before(e.confirmed.Add(c.cfg.ReachableTime)) {
			// Stale: keep using the address, but confirm it with a unicast
			// request (RFC 1122 §2.3.2.1, Linux's STALE→PROBE).
			e.state = probe
			e.requests = 0
			c.request(now, e, out)
		}
		c.lower(e.deadline(&c.cfg))
		return e.mac, true
	}
	if e == nil {
		e = c.insert(now, ip, incomplete, out)
		if unicast(ip) && ip != c.cfg.Addr {
			c.request(now, e, out)
		} else {
			// Never ask the wire about it; the next Poll gives up.
			e.requests = c.cfg.MaxRequests
			e.nextRetry = now
		}
	}
	e.lastUsed = now
	c.lru.moveToFront(e)
	if packet != nil {
		if len(e.queue) >= c.cfg.MaxPendingFrames {
			// Drop the oldest: the newest packet is the one most likely
			// still wanted when the answer arrives.
			copy(e.queue, e.queue[1:])
			e.queue = e.queue[:len(e.queue)-1]
			c.stats.PendingDropped++
		}
		e.queue = append(e.queue, append([]byte(nil), packet...))
	}
	c.lower(e.deadline(&c.cfg))
	return wire.MAC{}, false
}

// request sends the next request for e: broadcast while incomplete,
// unicast to the known address while probing.
func (c *Cache) request(now time.Time, e *entry, out Output) {
	e.requests++
	e.nextRetry = now.Add(c.cfg.RetryInterval)
	c.stats.RequestsOut++
	dst := wire.BroadcastMAC
	if e.state == probe {
		dst = e.mac
		c.stats.Probes++
	}
	// RFC 5227 §1.1: the target hardware address of a request is ignored
	// and is set to zero.
	out.SendARP(&wire.ARPFields{
		Op:        wire.ARPRequest,
		SenderMAC: c.cfg.MAC,
		SenderIP:  c.cfg.Addr,
		TargetIP:  e.ip,
	}, dst)
}

// insert adds an entry for ip at the front of the LRU, evicting the least
// recently used entry if the cache is full.
func (c *Cache) insert(now time.Time, ip netip.Addr, st state, out Output) *entry {
	if len(c.entries) >= c.cfg.MaxEntries {
		if old := c.lru.back(); old != nil {
			c.stats.Evicted++
			c.remove(old, out)
		}
	}
	e := &entry{ip: ip, state: st, lastUsed: now}
	c.entries[ip] = e
	c.lru.pushFront(e)
	return e
}

// remove deletes e; packets that still waited for it are reported lost so
// that their senders do not wait forever.
func (c *Cache) remove(e *entry, out Output) {
	delete(c.entries, e.ip)
	c.lru.remove(e)
	if e.state == incomplete {
		n := len(e.queue)
		e.queue = nil
		c.stats.PendingDropped += uint64(n)
		out.Unreachable(e.ip, n)
	}
}

// Lookup returns the hardware address known for ip, without side effects.
func (c *Cache) Lookup(ip netip.Addr) (wire.MAC, bool) {
	e := c.entries[ip]
	if e == nil || e.state == incomplete {
		return wire.MAC{}, false
	}
	return e.mac, true
}

// Announce sends a gratuitous ARP for our address: a broadcast request
// whose sender and target protocol addresses are both ours (RFC 5227 §3).
func (c *Cache) Announce(now time.Time, out Output) {
	c.stats.RequestsOut++
	out.SendARP(&wire.ARPFields{
		Op:        wire.ARPRequest,
		SenderMAC: c.cfg.MAC,
		SenderIP:  c.cfg.Addr,
		TargetIP:  c.cfg.Addr,
	}, wire.BroadcastMAC)
}

// Poll sends due retries, gives up on silent neighbours and removes stale
// entries nobody uses.
func (c *Cache) Poll(now time.Time, out Output) {
	if c.deadline.IsZero() || now.Before(c.deadline) {
		return
	}
	// Collect first: Output may re-enter Resolve, which changes the map.
	var due []*entry
	for _, e := range c.entries {
		if d := e.deadline(&c.cfg); !now.Before(d) {
			due = append(due, e)
		}
	}
	for _, e := range due {
		if c.entries[e.ip] != e {
			continue // removed by an earlier callback
		}
		switch e.state {
		case incomplete, probe:
			if e.requests < c.cfg.MaxRequests {
				c.request(now, e, out)
				continue
			}
			if e.state == incomplete {
				// RFC 1122 §2.3.2.2: report failure and drop what waited.
				c.stats.Failed++
			} else {
				c.stats.Expired++
			}
			c.remove(e, out)
		case reachable:
			c.stats.Expired++
			c.remove(e, out)
		}
	}
	c.deadline = time.Time{}
	for _, e := range c.entries {
		c.lower(e.deadline(&c.cfg))
	}
}

// lower moves the cached deadline earlier if d is earlier.
func (c *Cache) lower(d time.Time) {
	if c.deadline.IsZero() || d.Before(c.deadline) {
		c.deadline = d
	}
}

// NextDeadline is when Poll next has work; zero when nothing is pending.
// It may be earlier than needed, never later.
func (c *Cache) NextDeadline() time.Time { return c.deadline }

// Stats returns a copy of the counters.
func (c *Cache) Stats() Stats { return c.stats }

// Len is the number of entries, resolving ones included.
func (c *Cache) Len() int { return len(c.entries) }
