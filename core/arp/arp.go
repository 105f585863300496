// Package arp is the IPv4-over-Ethernet neighbour cache (RFC 826): it
// answers requests for our address, learns senders by the RFC 826 merge rule,
// resolves next hops with retried requests, and holds the packets that wait
// for a resolution.
//
// Like all of core/, it never reads the clock: every call takes now.
package arp

import (
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// Config tunes the cache. Zero fields take the defaults in brackets.
type Config struct {
	MAC  wire.MAC   // our hardware address (required)
	Addr netip.Addr // our IPv4 address (required)

	MaxEntries       int           // neighbour entries kept [512]; the least recently used goes first
	ReachableTime    time.Duration // a resolved entry is used this long, then re-resolved [30s]
	RetryInterval    time.Duration // gap between requests while resolving [1s]
	MaxRequests      int           // requests sent before giving up [3]
	MaxPendingFrames int           // packets queued per unresolved neighbour; the oldest is dropped beyond it [16]
	GCStaleTime      time.Duration // a stale entry unused this long is removed by Poll [60s], like Linux's gc_stale_time
}

// Output is where the cache sends what it decides to send. The stack
// implements it; the cache never keeps the buffers it passes.
type Output interface {
	// SendARP sends an ARP packet in an Ethernet frame to dst (broadcast for
	// requests and announcements, the requester for replies).
	SendARP(f *wire.ARPFields, dst wire.MAC)
	// SendIP sends a queued IPv4 packet whose next hop just resolved to dst.
	SendIP(packet []byte, dst wire.MAC)
	// Unreachable reports that next hop ip never answered; the packets that
	// waited for it have been dropped (their number is given).
	Unreachable(ip netip.Addr, dropped int)
	// Resolved reports that a resolution of ip completed and the packets
	// that waited for it were handed to SendIP.
	Resolved(ip netip.Addr)
}

// Stats counts what the cache did.
type Stats struct {
	RequestsIn, RepliesIn, RequestsOut, RepliesOut uint64
	Resolved, Failed                               uint64 // resolutions completed / given up
	PendingDropped                                 uint64 // queued packets dropped: queue full or neighbour failed
	Evicted                                        uint64 // entries dropped because the cache was full
	Ignored                                        uint64 // ARP not for us, from ourselves, or with a bogus sender
	Probes                                         uint64 // unicast re-requests sent to confirm a stale entry
	Expired                                        uint64 // stale entries removed: unused, or their probes unanswered
}
