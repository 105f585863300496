package wire

import (
	"encoding/binary"
	"fmt"
)

// ICMPv4Type is the ICMPv4 message type (RFC 792).
type ICMPv4Type uint8

const (
	ICMPEchoReply       ICMPv4Type = 0
	ICMPDestUnreachable ICMPv4Type = 3
	ICMPEchoRequest     ICMPv4Type = 8
	ICMPTimeExceeded    ICMPv4Type = 11
	ICMPParamProblem    ICMPv4Type = 12
)

// Destination-unreachable codes (RFC 792, RFC 1191).
const (
	ICMPCodeNetUnreachable      uint8 = 0
	ICMPCodeHostUnreachable     uint8 = 1
	ICMPCodeProtoUnreachable    uint8 = 2
	ICMPCodePortUnreachable     uint8 = 3
	ICMPCodeFragmentationNeeded uint8 = 4
)

// ICMPv4HeaderLen is the fixed part of every ICMPv4 message.
const ICMPv4HeaderLen = 8

// ICMPv4 is a view of an ICMPv4 message (header and body).
type ICMPv4 []byte

// ParseICMPv4 checks that b holds at least the 8-byte ICMP header. It does
// not verify the checksum: call ChecksumValid.
func ParseICMPv4(b []byte) (ICMPv4, error) {
	if len(b) < ICMPv4HeaderLen {
		return nil, fmt.Errorf("icmp: %d bytes: %w", len(b), ErrTruncated)
	}
	return ICMPv4(b), nil
}

func (m ICMPv4) Type() ICMPv4Type    { return ICMPv4Type(m[0]) }
func (m ICMPv4) Code() uint8         { return m[1] }
func (m ICMPv4) Checksum() uint16    { return binary.BigEndian.Uint16(m[2:]) }
func (m ICMPv4) ChecksumValid() bool { return Checksum(m) == 0 }

// ID and Seq are the identifier and sequence number of echo messages.
func (m ICMPv4) ID() uint16  { return binary.BigEndian.Uint16(m[4:]) }
func (m ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// NextHopMTU is the MTU in a fragmentation-needed message (RFC 1191 §4).
func (m ICMPv4) NextHopMTU() int { return int(binary.BigEndian.Uint16(m[6:])) }

// Rest is the 4-byte rest-of-header word.
func (m ICMPv4) Rest() uint32 { return binary.BigEndian.Uint32(m[4:]) }

// Payload is the body after the 8-byte header: echo data, or for errors the
// quoted IP header and the first bytes of its payload.
func (m ICMPv4) Payload() []byte { return m[ICMPv4HeaderLen:] }

// ICMPv4Fields describes an ICMPv4 header to encode.
type ICMPv4Fields struct {
	Type ICMPv4Type
	Code uint8
	Rest uint32 // ID<<16|Seq for echo, next-hop MTU for fragmentation-needed, else 0
}

// Encode writes the header into b[:8] and the checksum over all of b, so
// the body must already be in b[8:].
func (f *ICMPv4Fields) Encode(b []byte) {
	_ = b[ICMPv4HeaderLen-1]
	b[0] = uint8(f.Type)
	b[1] = f.Code
	b[2], b[3] = 0, 0
	binary.BigEndian.PutUint32(b[4:], f.Rest)
	binary.BigEndian.PutUint16(b[2:], Checksum(b))
}
