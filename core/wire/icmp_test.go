package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestICMPv4Golden(t *testing.T) {
	_, p := l3(t, goldenIcmpEcho)
	m, err := ParseICMPv4(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != ICMPEchoRequest || m.Code() != 0 || m.ID() != 1 || m.Seq() != 2 || m.Rest() != 1<<16|2 {
		t.Errorf("type %d code %d id %d seq %d", m.Type(), m.Code(), m.ID(), m.Seq())
	}
	if m.Checksum() != 0xa0a6 || !m.ChecksumValid() {
		t.Errorf("checksum %#04x valid %v, want 0xa0a6", m.Checksum(), m.ChecksumValid())
	}
	if len(m.Payload()) != 48 || m.Payload()[8] != 0x10 {
		t.Errorf("payload %d bytes", len(m.Payload()))
	}
	want := ICMPv4Fields{Type: ICMPEchoRequest, Rest: 1<<16 | 2}
	if m.Fields() != want {
		t.Errorf("fields %+v", m.Fields())
	}
	out := make([]byte, len(p))
	copy(out[8:], p[8:])
	want.Encode(out)
	if !bytes.Equal(out, p) {
		t.Errorf("encode = % x\nwant     % x", out[:8], p[:8])
	}
	// The echo reply built from the request by changing the type only.
	reply := ICMPv4Fields{Type: ICMPEchoReply, Rest: m.Rest()}
	reply.Encode(out)
	if got := binary.BigEndian.Uint16(out[2:]); got != refChecksum(out[:2], out[4:]) {
		t.Errorf("reply checksum %#04x want %#04x", got, refChecksum(out[:2], out[4:]))
	}
	m[10] ^= 0x40
	if m.ChecksumValid() {
		t.Error("flipped bit not detected")
	}
}

func TestICMPv4FragmentationNeeded(t *testing.T) {
	b := make([]byte, 8+28)
	f := ICMPv4Fields{Type: ICMPDestUnreachable, Code: ICMPCodeFragmentationNeeded, Rest: 1400}
	f.Encode(b)
	m, err := ParseICMPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.NextHopMTU() != 1400 || !m.ChecksumValid() || m.Checksum() != refChecksum(b[:2], b[4:]) {
		t.Errorf("mtu %d checksum %#04x", m.NextHopMTU(), m.Checksum())
	}
}

func TestParseICMPv4Malformed(t *testing.T) {
	for _, n := range []int{0, 4, 7} {
		if _, err := ParseICMPv4(make([]byte, n)); !errors.Is(err, ErrTruncated) {
			t.Errorf("%d bytes: %v, want ErrTruncated", n, err)
		}
	}
}
