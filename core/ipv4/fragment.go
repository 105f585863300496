package ipv4

import (
	"fmt"
	"syscall"

	"github.com/microtcp/microtcp/core/wire"
)

// MinMTU is the smallest MTU every IPv4 link must carry without further
// fragmentation (RFC 791 §3.2: "Every internet module must be able to
// forward a datagram of 68 octets without further fragmentation").
const MinMTU = 68

// maxPacket is the largest IPv4 packet the 16-bit Total Length can describe.
const maxPacket = 0xffff

// Fragment emits payload behind hdr in packets of at most mtu bytes,
// following RFC 791 §3.2 "An Example Fragmentation Procedure". Each emit
// gets hdr with TotalLen, MoreFragments and FragmentOffset set for that
// packet, and the chunk of payload it carries; both are valid during the
// emit call only. hdr is used as scratch and restored before Fragment
// returns. A hdr that already describes a fragment (offset or MF set) is
// fragmented further, as a router would.
//
// Errors: mtu below 68 or a payload the header cannot describe wrap
// syscall.EINVAL or syscall.EMSGSIZE; a packet that needs fragmenting but
// has DontFragment set wraps syscall.EMSGSIZE (the caller may then send
// ICMP fragmentation needed, RFC 1191).
func Fragment(hdr *wire.IPv4Fields, payload []byte, mtu int, emit func(hdr *wire.IPv4Fields, chunk []byte)) error {
	if hdr == nil || emit == nil {
		return fmt.Errorf("ipv4: fragment: nil header or emit: %w", syscall.EINVAL)
	}
	if mtu < MinMTU {
		return fmt.Errorf("ipv4: fragment: mtu %d below %d: %w", mtu, MinMTU, syscall.EINVAL)
	}
	if hdr.FragmentOffset%8 != 0 || hdr.FragmentOffset < 0 {
		return fmt.Errorf("ipv4: fragment: offset %d not a multiple of 8: %w", hdr.FragmentOffset, syscall.EINVAL)
	}
	if wire.IPv4HeaderLen+hdr.FragmentOffset+len(payload) > maxPacket {
		return fmt.Errorf("ipv4: fragment: %d bytes at offset %d exceed 65535: %w",
			len(payload), hdr.FragmentOffset, syscall.EMSGSIZE)
	}
	saved := *hdr
	defer func() { *hdr = saved }()

	if wire.IPv4HeaderLen+len(payload) <= mtu {
		hdr.TotalLen = wire.IPv4HeaderLen + len(payload)
		emit(hdr, payload)
		return nil
	}
	if hdr.DontFragment {
		return fmt.Errorf("ipv4: %d-byte packet, mtu %d, DF set: %w", wire.IPv4HeaderLen+len(payload), mtu, errFragNeeded)
	}
	// RFC 791 §3.2: NFB, the number of fragment blocks, is the number of
	// 8-octet blocks that fit after the header.
	chunk := (mtu - wire.IPv4HeaderLen) / 8 * 8
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		hdr.FragmentOffset = saved.FragmentOffset + off
		hdr.TotalLen = wire.IPv4HeaderLen + end - off
		// The last piece inherits MF: a fragment of a fragment that was
		// not the last stays "more to come" (RFC 791 §3.2).
		hdr.MoreFragments = end < len(payload) || saved.MoreFragments
		emit(hdr, payload[off:end])
	}
	return nil
}

// errFragNeeded wraps EMSGSIZE without allocating a new sentinel per call.
var errFragNeeded = fmt.Errorf("fragmentation needed: %w", syscall.EMSGSIZE)
