package ipv4

import (
	"fmt"
	"net/netip"

	"github.com/microtcp/microtcp/core/wire"
)

// Quoted is the part of the original datagram that an ICMP error quotes.
type Quoted struct {
	Src, Dst netip.Addr
	Protocol wire.IPProtocol
	// Transport is the first bytes of the original payload (a view of the
	// body passed to ParseQuoted): at least 8 when the original had that
	// many, as RFC 792 requires. It is nil when the quoted datagram was a
	// non-initial fragment, which carries no transport header.
	Transport []byte
}

// ParseQuoted parses the body of an ICMP error message (after its 8-byte
// header): the original IP header and the start of its payload. The quote
// is usually shorter than the original's TotalLen; that is expected.
func ParseQuoted(body []byte) (Quoted, error) {
	if len(body) < wire.IPv4HeaderLen {
		return Quoted{}, fmt.Errorf("icmp quote: %d bytes: %w", len(body), wire.ErrTruncated)
	}
	if v := body[0] >> 4; v != 4 {
		return Quoted{}, fmt.Errorf("icmp quote: version %d: %w", v, wire.ErrBadVersion)
	}
	// The quote is cut short, so wire.ParseIPv4 would refuse it; check
	// what the accessors below rely on instead.
	ip := wire.IPv4(body)
	hl := ip.HeaderLen()
	if hl < wire.IPv4HeaderLen {
		return Quoted{}, fmt.Errorf("icmp quote: header length %d: %w", hl, wire.ErrBadLength)
	}
	if len(body) < hl {
		return Quoted{}, fmt.Errorf("icmp quote: header length %d > %d bytes: %w", hl, len(body), wire.ErrTruncated)
	}
	tl := ip.TotalLen()
	if tl < hl {
		return Quoted{}, fmt.Errorf("icmp quote: total length %d < header length %d: %w", tl, hl, wire.ErrBadLength)
	}
	q := Quoted{Src: ip.Src(), Dst: ip.Dst(), Protocol: ip.Protocol()}
	if ip.FragmentOffset() != 0 {
		return q, nil
	}
	// Trim padding beyond the original's end; tolerate a quote that stops
	// earlier, but insist on the 64 bits RFC 792 promises (Linux drops
	// errors quoting less), so that ports can always be read.
	t := body[hl:min(len(body), tl)]
	if need := min(8, tl-hl); len(t) < need {
		return Quoted{}, fmt.Errorf("icmp quote: %d transport bytes, want %d: %w", len(t), need, wire.ErrTruncated)
	}
	q.Transport = t
	return q, nil
}
