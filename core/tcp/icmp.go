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
		mss := mtu - 40
		if c.tsOK {
			mss -= 12
		}
		if mss >= 64 && mss < c.mss {
			c.mss = mss
			c.cc.SetMSS(mss)
			if c.state.synchronized() {
				c.retransmitFirst(now, out)
			}
		}
	}
	e.schedule(c)
}
