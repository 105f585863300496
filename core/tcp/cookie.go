package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the
// SYN,ACK carries everything needed to rebuild the connection in its
// sequence number, and no state is kept until the peer's ACK returns it.
//
// The cookie (our ISS) is 5 bits of a 64-second counter, 3 bits of MSS
// index and 24 bits of a keyed MAC over the 4-tuple, the counter and the
// peer's ISS. Window scale and SACK-permitted ride in the low bits of our
// timestamp, which the peer echoes (as Linux does); without timestamps
// they are not offered.

// cookieMSS are the MSS values a cookie can encode.
var cookieMSS = [8]uint16{536, 1200, 1360, 1440, 1452, 1460, 4312, 8960}

const (
	cookiePeriod = 64 * time.Second
	cookieMaxAge = 2 // counter values a cookie stays valid for

	tsCookieMark  = 1 << 5 // our TSval carries cookie options
	tsCookieSACK  = 1 << 4
	tsCookieNoWS  = 0xf // in the low 4 bits: the peer sent no window scale
	tsCookieMask  = 0x3f
	cookieMACMask = 1<<24 - 1
)

func cookieCounter(now time.Time) uint32 { return uint32(now.Unix() / int64(cookiePeriod/time.Second)) }

func cookieMAC(secret *[16]byte, local, remote netip.AddrPort, t uint32, irs wire.Seq) uint32 {
	var b [16 + 1 + 2*18 + 8]byte
	n := copy(b[:], secret[:])
	b[n] = 'c'
	n++
	for _, ap := range [2]netip.AddrPort{local, remote} {
		a := ap.Addr().As16()
		n += copy(b[n:], a[:])
		binary.BigEndian.PutUint16(b[n:], ap.Port())
		n += 2
	}
	binary.BigEndian.PutUint32(b[n:], t)
	binary.BigEndian.PutUint32(b[n+4:], uint32(irs))
	sum := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(sum[:4]) & cookieMACMask
}

// sendCookie answers a SYN with a SYN,ACK whose ISS is a cookie.
func (l *Listener) sendCookie(now time.Time, local, remote netip.AddrPort, s *segment, out Output) {
	e := l.e
	cfg := &e.cfg
	mss := min(int(s.opts.MSS), cfg.MSS)
	if s.opts.MSS == 0 {
		mss = 536
	}
	idx := 0
	for i, m := range cookieMSS {
		if int(m) <= mss {
			idx = i
		}
	}
	t := cookieCounter(now)
	cookie := t%32<<27 | uint32(idx)<<24 | cookieMAC(&cfg.Secret, local, remote, t, s.seq)
	f := &e.fields
	*f = wire.TCPFields{SrcPort: local.Port(), DstPort: remote.Port(), Seq: wire.Seq(cookie), Ack: s.seq.Add(1),
		Flags: wire.FlagSYN | wire.FlagACK, Window: uint16(min(cfg.ReceiveBuffer, 0xffff))}
	f.Options.MSS = uint16(cfg.MSS)
	if !cfg.NoTimestamps && s.opts.HasTimestamps {
		bits := uint32(tsCookieMark | tsCookieNoWS)
		if !cfg.NoWindowScale && s.opts.HasWindowScale {
			bits = tsCookieMark | uint32(min(s.opts.WindowScale, 14))
			f.Options.HasWindowScale = true
			f.Options.WindowScale = cfg.windowShift()
		}
		if !cfg.NoSACK && s.opts.SACKPermitted {
			bits |= tsCookieSACK
			f.Options.SACKPermitted = true
		}
		ts := uint32(now.UnixMilli()) + tupleHash(&cfg.Secret, 't', local, remote)
		f.Options.HasTimestamps = true
		f.Options.TSVal = ts&^tsCookieMask | bits
		f.Options.TSEcr = s.opts.TSVal
	}
	e.stats.SynCookiesSent++
	e.stats.SegmentsOut++
	l.cookieUntil = now.Add(cookieMaxAge * cookiePeriod)
	out.SendTCP(local, remote, f, nil)
}

// cookieValid reports whether the ACK s carries a cookie this listener
// issued to remote within the cookie lifetime.
func (l *Listener) cookieValid(now time.Time, local, remote netip.AddrPort, s *segment) bool {
	if !now.Before(l.cookieUntil) {
		return false // no cookie sent recently: nothing to validate
	}
	cookie := uint32(s.ack) - 1
	irs := s.seq.Add(^uint32(0))
	t := cookieCounter(now)
	for age := uint32(0); age < cookieMaxAge; age++ {
		if (t-age)%32 == cookie>>27 && cookieMAC(&l.e.cfg.Secret, local, remote, t-age, irs) == cookie&cookieMACMask {
			return true
		}
	}
	return false
}

// cookieConn rebuilds a connection from the ACK of a cookie SYN,ACK,
// which cookieValid has accepted.
func (l *Listener) cookieConn(now time.Time, local, remote netip.AddrPort, s *segment) *Conn {
	e := l.e
	cfg := &e.cfg
	cookie := uint32(s.ack) - 1
	irs := s.seq.Add(^uint32(0))
	// Rebuild the options of the SYN the cookie answered.
	syn := segment{opts: wire.TCPOptions{MSS: cookieMSS[cookie>>24&7]}}
	if s.opts.HasTimestamps && s.opts.TSEcr&tsCookieMark != 0 && !cfg.NoTimestamps {
		syn.opts.HasTimestamps = true
		syn.opts.TSVal = s.opts.TSVal
		if ws := s.opts.TSEcr & 0xf; ws != tsCookieNoWS {
			syn.opts.HasWindowScale = true
			syn.opts.WindowScale = uint8(ws)
		}
		syn.opts.SACKPermitted = s.opts.TSEcr&tsCookieSACK != 0
	}
	c := e.newConn(now, local, remote)
	c.passive = true
	c.iss = wire.Seq(cookie)
	c.sndUna, c.sndNxt, c.sndMax = s.ack, s.ack, s.ack
	c.sndBufSeq, c.recover = s.ack, c.iss
	c.irs, c.rcvNxt = irs, s.seq
	c.negotiate(&syn)
	c.rcvAdv = c.rcvNxt.Add(uint32(min(cfg.ReceiveBuffer, 0xffff)))
	c.lastAckSent = c.rcvNxt
	c.state = StateEstablished
	c.sndWnd = uint32(s.wnd) << c.sndShift
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	e.stats.SynCookiesValidated++
	return c
}
