package stack

import (
	"github.com/microtcp/microtcp/core/arp"
	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/tcp"
)

// Stats counts what a Stack did, grouped per protocol like `netstat -s`.
//
// Every inbound frame ends in exactly one terminal counter (marked
// "terminal" below): it was delivered, held for reassembly, or dropped for
// one reason. So FramesIn + IPv4.LoopbackIn equals the sum of the terminal
// counters once no reassembled datagram is pending.
type Stats struct {
	Link LinkStats
	ARP  ARPStats
	IPv4 IPv4Stats
	ICMP ICMPStats
	UDP  UDPStats
	TCP  TCPStats
}

// LinkStats counts frames.
type LinkStats struct {
	FramesIn  uint64 // frames passed to Input
	FramesOut uint64 // frames queued for TakeFrames

	Truncated        uint64 // terminal: shorter than an Ethernet header
	NotForUs         uint64 // terminal: unicast to another MAC
	UnknownEtherType uint64 // terminal: neither ARP nor IPv4 (IPv6, LLDP …)
}

// ARPStats counts ARP packets; Cache holds the cache's own counters.
type ARPStats struct {
	In          uint64 // terminal: well-formed packets handed to the cache
	Truncated   uint64 // terminal: shorter than 28 bytes
	Unsupported uint64 // terminal: not Ethernet/IPv4 ARP
	Cache       arp.Stats
}

// IPv4Stats counts IP packets (Linux's Ip: group).
type IPv4Stats struct {
	LoopbackIn uint64 // packets we sent to our own address, delivered internally
	PacketsOut uint64 // packets sent (each fragment counts once)

	Truncated       uint64 // terminal: shorter than its header or total length
	BadVersion      uint64 // terminal: version is not 4 (InHdrErrors)
	BadHeader       uint64 // terminal: header or total length field inconsistent (InHdrErrors)
	BadChecksum     uint64 // terminal: header checksum does not verify (InCsumErrors)
	BadSource       uint64 // terminal: source is broadcast, multicast or ours from the wire (RFC 1122 §3.2.1.3)
	NotForUs        uint64 // terminal: destination is neither ours nor a broadcast (InAddrErrors)
	FragmentsHeld   uint64 // terminal: fragment stored, datagram not yet complete
	ReassemblyFails uint64 // terminal: fragment refused (overlap, too big, too many, malformed)
	UnknownProtocol uint64 // terminal: no such transport protocol (InUnknownProtos)

	FragmentsOut  uint64 // fragments created (FragCreates)
	FragmentFails uint64 // datagrams we could not fragment
	NoRoute       uint64 // sends refused: no route to the destination (OutNoRoutes)
	Reassembly    ipv4.ReassemblyStats
}

// ICMPStats counts ICMP messages (Linux's Icmp: group).
type ICMPStats struct {
	InMsgs      uint64 // terminal: well-formed messages received (broken down below)
	Truncated   uint64 // terminal: shorter than the 8-byte header
	BadChecksum uint64 // terminal: checksum does not verify (InCsumErrors)

	InEchoRequests     uint64 // echo requests answered
	InEchoBroadcast    uint64 // echo requests to a broadcast address, ignored (Linux icmp_echo_ignore_broadcasts)
	InEchoReplies      uint64 // echo replies delivered to an echo socket
	InEchoNoSocket     uint64 // echo replies nobody waited for
	InEchoQueueFull    uint64 // echo replies dropped: the socket's queue was full
	InDestUnreachs     uint64 // destination unreachable messages
	InErrorsMatched    uint64 // errors reported to a connected socket
	InTimeExcds        uint64 // time exceeded messages
	InOther            uint64 // other types, ignored
	OutMsgs            uint64 // messages sent
	OutEchoReplies     uint64
	OutEchos           uint64
	OutDestUnreachs    uint64
	OutTimeExcds       uint64
	OutRateLimited     uint64 // errors not sent because of the rate limit
	OutErrorsForbidden uint64 // errors not sent because RFC 1122 §3.2.2 forbids them
}

// UDPStats counts UDP datagrams (Linux's Udp: group).
type UDPStats struct {
	InDatagrams  uint64 // terminal: delivered to a socket's queue
	NoPorts      uint64 // terminal: no socket bound to the port
	Truncated    uint64 // terminal: shorter than the header or the length field
	BadLength    uint64 // terminal: length field below 8 (InErrors)
	BadChecksum  uint64 // terminal: checksum does not verify (InCsumErrors)
	RcvbufErrors uint64 // terminal: the socket's receive queue was full

	OutDatagrams uint64 // datagrams sent or queued behind ARP
}

// TCPStats counts TCP segments: the engine's own counters (segments,
// resets, retransmissions…) plus what the stack dropped before the engine
// saw it.
type TCPStats struct {
	tcp.Stats

	Delivered   uint64 // terminal: handed to the engine (header and checksum good)
	Truncated   uint64 // terminal: shorter than its header
	BadHeader   uint64 // terminal: data offset or options malformed (InErrs)
	BadChecksum uint64 // terminal: checksum does not verify (InCsumErrors)
	NotUnicast  uint64 // terminal: sent to a broadcast address (RFC 1122 4.2.3.10)

	OutNoRoute uint64 // segments the engine sent that had no route (retransmission retries)
}
