package tcp

import (
	"net/netip"
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// ICMPError is the kind of ICMP error the stack reports for a TCP segment
// we sent.
type ICMPError uint8

const (
	ICMPPortUnreachable     ICMPError = iota + 1 // port or protocol unreachable
	ICMPHostUnreachable                          // host or network unreachable
	ICMPFragmentationNeeded                      // RFC 1191: the path MTU is smaller
)

// HandleICMP processes an ICMP error quoting a segment from local to
// remote with sequence number seq; mtu is the next-hop MTU for
// ICMPFragmentationNeeded.
func (e *Endpoints) HandleICMP(now time.Time, local, remote netip.AddrPort, seq wire.Seq, kind ICMPError, mtu int, out Output) {
	c, ok := e.conns[fourTuple{local, remote}]
	if !ok {
		return
	}
	// RFC 5927 §4.1: act only if the quoted sequence number is in flight,
	// SND.UNA =< SEG.SEQ < SND.MAX, which a blind attacker must guess.
	if !seq.InRange(c.sndUna, c.sndMax) {
		e.stats.Dropped++
		return
	}
	switch kind {
	case ICMPPortUnreachable:
		// RFC 1122 4.2.3.9: a hard error; during the handshake it means
		// nobody listens.
		if c.state == StateSynSent {
			c.terminate(connError("connection refused", syscall.ECONNREFUSED))
		}
	case ICMPHostUnreachable:
		// A soft error (RFC 1122 4.2.3.9): reported if the connection then
		// times out.
		if c.state == StateSynSent {
			c.softErr = connError("no route to host", syscall.EHOSTUNREACH)
		}
	case ICMPFragmentationNeeded:
		// RFC 1191 §6.1: lower the segment size to fit the path, then
		// resend what was lost.
		if mss := c.pathMSS(mtu); mss < c.mss {
			c.mss = mss
			c.cc.SetMSS(mss)
			if c.state.synchronized() {
				c.retransmitFirst(now, out)
			}
		}
	}
	e.schedule(c)
}

// minPathMTU is the smallest path MTU believed: "a host MUST never reduce
// its estimate of the Path MTU below 68 octets" (RFC 1191 §3), the size
// RFC 791 requires every module to forward unfragmented.
//
// Linux instead raises any report below its route min_pmtu (552) to 552
// and then sends without DF, letting routers fragment. Our segments always
// carry DF, so a clamp above the real path MTU would black-hole the
// connection: every MTU from 68 up is honoured, and only claims below it
// (impossible on a conforming path, or forged) are clamped. The smallest
// MSS that results, 28 bytes less options, costs header overhead but no
// memory: the send ring stores bytes, not per-segment buffers, so tiny
// segments cannot exhaust memory as they could Linux's SKB queues before
// tcp_min_snd_mss (CVE-2019-11479).
const minPathMTU = 68

// mtuPlateaus are RFC 1191 §7's table of common MTUs, for routers that
// report no next-hop MTU (a zero field, RFC 1191 §5).
var mtuPlateaus = [...]int{32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, minPathMTU}

// pathMSS is the send MSS for a path MTU reported by a fragmentation-needed
// message: the MTU less the IP and TCP headers and the options every data
// segment carries (timestamps).
func (c *Conn) pathMSS(mtu int) int {
	const headers = wire.IPv4HeaderLen + wire.TCPHeaderLen
	opts := 0
	if c.tsOK {
		opts = 12 // RFC 7323 §3: 10 bytes of timestamps, padded
	}
	if mtu == 0 {
		// RFC 1191 §5: guess the next plateau below the packet that did
		// not fit, a full segment of the current MSS.
		sent := c.mss + headers + opts
		mtu = minPathMTU
		for _, p := range mtuPlateaus {
			if p < sent {
				mtu = p
				break
			}
		}
	}
	mtu = max(mtu, minPathMTU)
	return mtu - headers - opts
}
