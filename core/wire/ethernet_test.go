package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestEthernetGolden(t *testing.T) {
	tests := []struct {
		name     string
		golden   string
		dst, src MAC
		typ      EtherType
		bcast    bool
	}{
		{"arp request", goldenArpRequest, BroadcastMAC, macA, EtherTypeARP, true},
		{"arp reply", goldenArpReply, macA, macB, EtherTypeARP, false},
		{"tcp syn", goldenTcpSYN, macB, macA, EtherTypeIPv4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := frame(t, tt.golden)
			e, err := ParseEthernet(b)
			if err != nil {
				t.Fatal(err)
			}
			if e.Dst() != tt.dst || e.Src() != tt.src || e.EtherType() != tt.typ {
				t.Errorf("got dst %v src %v type %#x, want %v %v %#x", e.Dst(), e.Src(), e.EtherType(), tt.dst, tt.src, tt.typ)
			}
			if e.Dst().IsBroadcast() != tt.bcast || e.Dst().IsMulticast() != tt.bcast {
				t.Errorf("broadcast/multicast of %v wrong", e.Dst())
			}
			if !bytes.Equal(e.Payload(), b[14:]) {
				t.Error("payload is not the bytes after the header")
			}
			// encode from the fields, then round trip
			var h [EthernetHeaderLen]byte
			f := EthernetFields{Dst: tt.dst, Src: tt.src, EtherType: tt.typ}
			f.Encode(h[:])
			if !bytes.Equal(h[:], b[:14]) {
				t.Errorf("encode = % x, want % x", h, b[:14])
			}
			if got := e.Fields(); got != f {
				t.Errorf("Fields() = %+v, want %+v", got, f)
			}
		})
	}
}

func TestMACString(t *testing.T) {
	if got, want := macB.String(), "52:54:00:ab:cd:ef"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if (MAC{0x01, 0, 0x5e, 0, 0, 1}).IsMulticast() == false || macA.IsMulticast() {
		t.Error("group bit not honoured")
	}
}

func TestParseEthernetMalformed(t *testing.T) {
	for _, n := range []int{0, 1, 13} {
		if _, err := ParseEthernet(make([]byte, n)); !errors.Is(err, ErrTruncated) {
			t.Errorf("%d bytes: err %v, want ErrTruncated", n, err)
		}
	}
	if _, err := ParseEthernet(make([]byte, 14)); err != nil {
		t.Errorf("bare 14-byte header: %v", err)
	}
}
