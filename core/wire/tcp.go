package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// TCPHeaderLen is the length of a TCP header without options.
const TCPHeaderLen = 20

// TCPFlags are the TCP control bits.
type TCPFlags uint8

const (
	FlagFIN TCPFlags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Has reports whether every flag in g is set.
func (f TCPFlags) Has(g TCPFlags) bool { return f&g == g }

// TCP is a view of a TCP segment (header, options and payload).
type TCP []byte

// ParseTCP checks the header length and the options' encoding. It does not
// verify the checksum: call ChecksumValid.
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPHeaderLen {
		return nil, fmt.Errorf("tcp: %d bytes: %w", len(b), ErrTruncated)
	}
	hl := int(b[12]>>4) * 4
	if hl < TCPHeaderLen {
		return nil, fmt.Errorf("tcp: data offset %d: %w", hl, ErrBadLength)
	}
	if hl > len(b) {
		return nil, fmt.Errorf("tcp: data offset %d > %d bytes: %w", hl, len(b), ErrTruncated)
	}
	if err := checkTCPOptions(b[TCPHeaderLen:hl]); err != nil {
		return nil, err
	}
	return TCP(b), nil
}

func (t TCP) SrcPort() uint16  { return binary.BigEndian.Uint16(t[0:]) }
func (t TCP) DstPort() uint16  { return binary.BigEndian.Uint16(t[2:]) }
func (t TCP) Seq() Seq         { return Seq(binary.BigEndian.Uint32(t[4:])) }
func (t TCP) Ack() Seq         { return Seq(binary.BigEndian.Uint32(t[8:])) }
func (t TCP) HeaderLen() int   { return int(t[12]>>4) * 4 }
func (t TCP) Flags() TCPFlags  { return TCPFlags(t[13]) }
func (t TCP) Window() uint16   { return binary.BigEndian.Uint16(t[14:]) }
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:]) }
func (t TCP) Urgent() uint16   { return binary.BigEndian.Uint16(t[18:]) }
func (t TCP) Options() []byte  { return t[TCPHeaderLen:t.HeaderLen()] }
func (t TCP) Payload() []byte  { return t[t.HeaderLen():] }

// ParsedOptions decodes the options. ParseTCP has already checked their
// encoding, so only option-specific length errors can remain, and those are
// reported the same way ParseTCPOptions reports them.
func (t TCP) ParsedOptions() (TCPOptions, error) { return ParseTCPOptions(t.Options()) }

// SegLen is the segment's length in sequence space: payload plus SYN and FIN
// (RFC 9293 §3.4).
func (t TCP) SegLen() uint32 {
	n := uint32(len(t.Payload()))
	if t.Flags()&FlagSYN != 0 {
		n++
	}
	if t.Flags()&FlagFIN != 0 {
		n++
	}
	return n
}

// ChecksumValid verifies the checksum against the IPv4 pseudo-header.
func (t TCP) ChecksumValid(src, dst netip.Addr) bool {
	return Fold(Sum(t, PseudoHeaderSum(ProtoTCP, src, dst, len(t)))) == 0
}

// TCPFields describes a TCP header, options included, to encode.
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         Seq
	Flags            TCPFlags
	Window           uint16
	Urgent           uint16
	Options          TCPOptions
}

// HeaderLen is the encoded header length: 20 plus the padded options.
func (f *TCPFields) HeaderLen() int { return TCPHeaderLen + f.Options.Len() }

// Encode writes the header and options into b[:f.HeaderLen()] and the
// checksum over the pseudo-header and all of b, so the payload must already
// be in b[f.HeaderLen():].
func (f *TCPFields) Encode(b []byte, src, dst netip.Addr) {
	hl := f.HeaderLen()
	_ = b[hl-1]
	binary.BigEndian.PutUint16(b[0:], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:], f.DstPort)
	binary.BigEndian.PutUint32(b[4:], uint32(f.Seq))
	binary.BigEndian.PutUint32(b[8:], uint32(f.Ack))
	b[12] = uint8(hl/4) << 4
	b[13] = uint8(f.Flags)
	binary.BigEndian.PutUint16(b[14:], f.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:], f.Urgent)
	f.Options.Encode(b[TCPHeaderLen:hl])
	binary.BigEndian.PutUint16(b[16:], Fold(Sum(b, PseudoHeaderSum(ProtoTCP, src, dst, len(b)))))
}

// TCP option kinds (IANA).
const (
	tcpOptEOL           = 0
	tcpOptNOP           = 1
	tcpOptMSS           = 2
	tcpOptWindowScale   = 3
	tcpOptSACKPermitted = 4
	tcpOptSACK          = 5
	tcpOptTimestamps    = 8
)

// MaxSACKBlocks is how many SACK blocks fit in the 40-byte option space
// (RFC 2018 §3: 4, or 3 alongside timestamps).
const MaxSACKBlocks = 4

// SACKBlock is one SACK block: the bytes [Left, Right) were received.
type SACKBlock struct {
	Left, Right Seq
}

// TCPOptions holds the TCP options microtcp understands. The zero value
// means "no options". It is a plain value: parsing and encoding never allocate.
type TCPOptions struct {
	MSS            uint16 // 0 = absent
	HasWindowScale bool
	WindowScale    uint8 // shift count, valid when HasWindowScale (RFC 7323 §2.3 caps it at 14 on use)
	SACKPermitted  bool
	HasTimestamps  bool
	TSVal, TSEcr   uint32
	NumSACK        int // blocks used in SACK
	SACK           [MaxSACKBlocks]SACKBlock
}

// checkTCPOptions walks the option list checking only the encoding: every
// option after EOL/NOP has a length byte >= 2 that fits.
func checkTCPOptions(b []byte) error {
	for i := 0; i < len(b); {
		switch b[i] {
		case tcpOptEOL:
			return nil
		case tcpOptNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return fmt.Errorf("tcp: option %d at %d has no length: %w", b[i], i, ErrBadOption)
		}
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			return fmt.Errorf("tcp: option %d at %d length %d: %w", b[i], i, l, ErrBadOption)
		}
		i += l
	}
	return nil
}

// ParseTCPOptions decodes an option list. Unknown options are skipped by
// their length; a known option with the wrong length, or any option whose
// length runs past the end, is an error wrapping ErrBadOption.
func ParseTCPOptions(b []byte) (TCPOptions, error) {
	var o TCPOptions
	for i := 0; i < len(b); {
		kind := b[i]
		if kind == tcpOptEOL {
			break
		}
		if kind == tcpOptNOP {
			i++
			continue
		}
		if i+1 >= len(b) {
			return o, fmt.Errorf("tcp: option %d at %d has no length: %w", kind, i, ErrBadOption)
		}
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			return o, fmt.Errorf("tcp: option %d at %d length %d: %w", kind, i, l, ErrBadOption)
		}
		v := b[i+2 : i+l]
		bad := false
		switch kind {
		case tcpOptMSS:
			if bad = l != 4; !bad {
				o.MSS = binary.BigEndian.Uint16(v)
			}
		case tcpOptWindowScale:
			if bad = l != 3; !bad {
				o.HasWindowScale, o.WindowScale = true, v[0]
			}
		case tcpOptSACKPermitted:
			if bad = l != 2; !bad {
				o.SACKPermitted = true
			}
		case tcpOptTimestamps:
			if bad = l != 10; !bad {
				o.HasTimestamps = true
				o.TSVal = binary.BigEndian.Uint32(v)
				o.TSEcr = binary.BigEndian.Uint32(v[4:])
			}
		case tcpOptSACK:
			n := (l - 2) / 8
			if bad = (l-2)%8 != 0 || n == 0 || n > MaxSACKBlocks; !bad {
				// A later SACK option replaces an earlier one whole, so no
				// stale block survives past NumSACK and equal options
				// compare equal with ==.
				o.SACK = [MaxSACKBlocks]SACKBlock{}
				o.NumSACK = n
				for k := 0; k < n; k++ {
					o.SACK[k] = SACKBlock{Seq(binary.BigEndian.Uint32(v[8*k:])), Seq(binary.BigEndian.Uint32(v[8*k+4:]))}
				}
			}
		}
		if bad {
			return o, fmt.Errorf("tcp: option %d length %d: %w", kind, l, ErrBadOption)
		}
		i += l
	}
	return o, nil
}

// rawLen is the unpadded encoded length of the options; it mirrors Encode.
func (o *TCPOptions) rawLen() int {
	n := 0
	if o.MSS != 0 {
		n += 4
	}
	switch {
	case o.HasTimestamps:
		n += 12 // SACK-permitted or NOP NOP, then timestamps
	case o.SACKPermitted:
		n += 4 // NOP NOP SACK-permitted
	}
	if o.HasWindowScale {
		n += 4 // NOP window-scale
	}
	if k := o.sackBlocksToSend(n); k > 0 {
		n += 4 + 8*k // NOP NOP kind len, blocks
	}
	return n
}

// MaxOptionsLen is the TCP option space: a data offset of 15 words less the
// fixed header (RFC 9293 §3.1).
const MaxOptionsLen = 40

// sackBlocksToSend is how many of the NumSACK blocks are encoded after used
// bytes of other options. RFC 2018 §3 limits the blocks to what fits in the
// option space, and §4 puts the most recent block first, so the blocks that
// do not fit are dropped from the end rather than overflowing the header.
func (o *TCPOptions) sackBlocksToSend(used int) int {
	k := min(max(o.NumSACK, 0), MaxSACKBlocks)
	if fit := (MaxOptionsLen - used - 4) / 8; k > fit {
		k = max(fit, 0)
	}
	return k
}

// Len is the encoded length of the options, padded to a multiple of 4.
func (o *TCPOptions) Len() int { return (o.rawLen() + 3) &^ 3 }

// Encode writes the options into b[:o.Len()] in the layout Linux uses
// (MSS, SACK-permitted+timestamps, NOP+window scale; NOP+NOP+SACK blocks)
// and returns the number of bytes written. SACK blocks that would push the
// total past MaxOptionsLen are left out from the end (a SYN with every
// option uses 20; data with timestamps and 3 SACK blocks uses 40), and
// NumSACK outside 0..MaxSACKBlocks is clamped, so Encode never overflows
// the header.
func (o *TCPOptions) Encode(b []byte) int {
	i := 0
	if o.MSS != 0 {
		b[i], b[i+1] = tcpOptMSS, 4
		binary.BigEndian.PutUint16(b[i+2:], o.MSS)
		i += 4
	}
	switch {
	case o.SACKPermitted && o.HasTimestamps:
		b[i], b[i+1] = tcpOptSACKPermitted, 2
		i += 2
		i += o.encodeTimestamps(b[i:])
	case o.HasTimestamps:
		b[i], b[i+1] = tcpOptNOP, tcpOptNOP
		i += 2
		i += o.encodeTimestamps(b[i:])
	case o.SACKPermitted:
		b[i], b[i+1], b[i+2], b[i+3] = tcpOptNOP, tcpOptNOP, tcpOptSACKPermitted, 2
		i += 4
	}
	if o.HasWindowScale {
		b[i], b[i+1], b[i+2], b[i+3] = tcpOptNOP, tcpOptWindowScale, 3, o.WindowScale
		i += 4
	}
	if n := o.sackBlocksToSend(i); n > 0 {
		b[i], b[i+1], b[i+2], b[i+3] = tcpOptNOP, tcpOptNOP, tcpOptSACK, uint8(2+8*n)
		i += 4
		for k := 0; k < n; k++ {
			binary.BigEndian.PutUint32(b[i:], uint32(o.SACK[k].Left))
			binary.BigEndian.PutUint32(b[i+4:], uint32(o.SACK[k].Right))
			i += 8
		}
	}
	for ; i&3 != 0; i++ {
		b[i] = tcpOptEOL
	}
	return i
}

func (o *TCPOptions) encodeTimestamps(b []byte) int {
	b[0], b[1] = tcpOptTimestamps, 10
	binary.BigEndian.PutUint32(b[2:], o.TSVal)
	binary.BigEndian.PutUint32(b[6:], o.TSEcr)
	return 10
}
