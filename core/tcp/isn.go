package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// tupleHash is F(localip, localport, remoteip, remoteport, secretkey) of
// RFC 6528 §3, a keyed SHA-256 of the 4-tuple. salt separates its uses
// (ISN, timestamp offset, ephemeral port choice).
func tupleHash(secret *[16]byte, salt byte, local, remote netip.AddrPort) uint32 {
	var b [16 + 1 + 2*(16+2)]byte
	n := copy(b[:], secret[:])
	b[n] = salt
	n++
	for _, ap := range [2]netip.AddrPort{local, remote} {
		a := ap.Addr().As16()
		n += copy(b[n:], a[:])
		binary.BigEndian.PutUint16(b[n:], ap.Port())
		n += 2
	}
	sum := sha256.Sum256(b[:n])
	return binary.BigEndian.Uint32(sum[:4])
}

// isn is ISN = M + F(4-tuple, secret) with M a timer ticking every 4
// microseconds (RFC 6528 §3).
func isn(secret *[16]byte, now time.Time, local, remote netip.AddrPort) wire.Seq {
	m := uint32(now.UnixNano() / 4000)
	return wire.Seq(m + tupleHash(secret, 'i', local, remote))
}
