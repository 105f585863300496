package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestARPGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		want   ARPFields
	}{
		{"request", goldenArpRequest, ARPFields{Op: ARPRequest, SenderMAC: macA, SenderIP: ipA, TargetIP: ipB}},
		{"reply", goldenArpReply, ARPFields{Op: ARPReply, SenderMAC: macB, SenderIP: ipB, TargetMAC: macA, TargetIP: ipA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := frame(t, tt.golden)[EthernetHeaderLen:] // 28 bytes of ARP and 18 of padding
			a, err := ParseARP(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != ARPLen {
				t.Errorf("view is %d bytes, want the padding trimmed to %d", len(a), ARPLen)
			}
			if a.Op() != tt.want.Op || a.SenderMAC() != tt.want.SenderMAC || a.SenderIP() != tt.want.SenderIP ||
				a.TargetMAC() != tt.want.TargetMAC || a.TargetIP() != tt.want.TargetIP {
				t.Errorf("accessors: %+v, want %+v", a.Fields(), tt.want)
			}
			var out [ARPLen]byte
			tt.want.Encode(out[:])
			if !bytes.Equal(out[:], b[:ARPLen]) {
				t.Errorf("encode = % x\nwant     % x", out, b[:ARPLen])
			}
			if got := a.Fields(); got != tt.want {
				t.Errorf("round trip %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseARPMalformed(t *testing.T) {
	good := frame(t, goldenArpRequest)[EthernetHeaderLen:]
	tests := []struct {
		name     string
		edit     func(b []byte) []byte
		sentinel error
	}{
		{"empty", func(b []byte) []byte { return b[:0] }, ErrTruncated},
		{"27 bytes", func(b []byte) []byte { return b[:27] }, ErrTruncated},
		{"hardware IEEE 802", func(b []byte) []byte { b[1] = 6; return b }, ErrUnsupported},
		{"protocol IPv6", func(b []byte) []byte { b[2], b[3] = 0x86, 0xdd; return b }, ErrUnsupported},
		{"hlen 8", func(b []byte) []byte { b[4] = 8; return b }, ErrUnsupported},
		{"plen 16", func(b []byte) []byte { b[5] = 16; return b }, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.edit(append([]byte(nil), good...))
			if _, err := ParseARP(b); !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v, want %v", err, tt.sentinel)
			}
		})
	}
}
