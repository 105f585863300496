package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestUDPGolden(t *testing.T) {
	_, p := l3(t, goldenUdpDNS)
	u, err := ParseUDP(p)
	if err != nil {
		t.Fatal(err)
	}
	if u.SrcPort() != 53012 || u.DstPort() != 53 || u.Length() != 37 || len(u.Payload()) != 29 {
		t.Errorf("ports %d>%d length %d payload %d", u.SrcPort(), u.DstPort(), u.Length(), len(u.Payload()))
	}
	if u.Checksum() != 0xa11c || !u.ChecksumValid(ipA, ipB) {
		t.Errorf("checksum %#04x valid %v, want 0xa11c", u.Checksum(), u.ChecksumValid(ipA, ipB))
	}
	if u.ChecksumValid(ipB, ipB) {
		t.Error("checksum accepted against the wrong pseudo-header")
	}
	if !bytes.HasPrefix(u.Payload(), []byte{0xab, 0xcd, 0x01, 0x00}) {
		t.Errorf("payload % x", u.Payload()[:4])
	}
	want := UDPFields{SrcPort: 53012, DstPort: 53}
	if u.Fields() != want {
		t.Errorf("fields %+v", u.Fields())
	}
	out := make([]byte, len(p))
	copy(out[8:], p[8:])
	want.Encode(out, ipA, ipB)
	if !bytes.Equal(out, p) {
		t.Errorf("encode = % x\nwant     % x", out[:8], p[:8])
	}
}

// TestUDPZeroChecksum: RFC 768 sends a computed zero as all ones, and a
// received zero means "no checksum".
func TestUDPZeroChecksum(t *testing.T) {
	b := make([]byte, 10)
	binary.BigEndian.PutUint16(b[0:], 1000)
	binary.BigEndian.PutUint16(b[2:], 2000)
	binary.BigEndian.PutUint16(b[4:], 10)
	// Choose the payload word that makes the sum 0xffff, so the checksum
	// computes to zero.
	binary.BigEndian.PutUint16(b[8:], refChecksum(refPseudo(ipA, ipB, ProtoUDP, 10), b))
	if refChecksum(refPseudo(ipA, ipB, ProtoUDP, 10), b) != 0 {
		t.Fatal("test setup: checksum is not zero")
	}
	f := UDPFields{SrcPort: 1000, DstPort: 2000}
	f.Encode(b, ipA, ipB)
	u, err := ParseUDP(b)
	if err != nil {
		t.Fatal(err)
	}
	if u.Checksum() != 0xffff || !u.ChecksumValid(ipA, ipB) {
		t.Errorf("checksum %#04x valid %v, want 0xffff", u.Checksum(), u.ChecksumValid(ipA, ipB))
	}
	b[6], b[7] = 0, 0
	b[9] ^= 1
	if !u.ChecksumValid(ipA, ipB) {
		t.Error("zero checksum (none computed) rejected")
	}
}

func TestParseUDPMalformed(t *testing.T) {
	_, good := l3(t, goldenUdpDNS)
	tests := []struct {
		name     string
		edit     func(b []byte) []byte
		sentinel error
	}{
		{"empty", func(b []byte) []byte { return b[:0] }, ErrTruncated},
		{"7 bytes", func(b []byte) []byte { return b[:7] }, ErrTruncated},
		{"length 0", func(b []byte) []byte { b[4], b[5] = 0, 0; return b }, ErrBadLength},
		{"length 7", func(b []byte) []byte { b[4], b[5] = 0, 7; return b }, ErrBadLength},
		{"length > buffer", func(b []byte) []byte { b[4], b[5] = 0, 38; return b }, ErrTruncated},
		{"length 65535", func(b []byte) []byte { b[4], b[5] = 0xff, 0xff; return b }, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.edit(append([]byte(nil), good...))
			if _, err := ParseUDP(b); !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v, want %v", err, tt.sentinel)
			}
		})
	}
	// A length shorter than the buffer trims the view.
	b := append(append([]byte(nil), good...), 0, 0, 0)
	if u, err := ParseUDP(b); err != nil || len(u) != 37 {
		t.Errorf("trailing bytes: err %v len %d", err, len(u))
	}
}
