package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestTCPGolden(t *testing.T) {
	tests := []struct {
		name     string
		golden   string
		src, dst netip.Addr
		want     TCPFields
		hl       int
		payload  string
		segLen   uint32
		cksum    uint16
	}{
		{"syn", goldenTcpSYN, ipA, ipB, TCPFields{
			SrcPort: 43210, DstPort: 80, Seq: 0x1a2b3c4d, Flags: FlagSYN, Window: 64240,
			Options: TCPOptions{MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 123456789, HasWindowScale: true, WindowScale: 7},
		}, 40, "", 1, 0x6509},
		{"syn-ack", goldenTcpSYNACK, ipB, ipA, TCPFields{
			SrcPort: 80, DstPort: 43210, Seq: 0x5e6f7081, Ack: 0x1a2b3c4e, Flags: FlagSYN | FlagACK, Window: 65160,
			Options: TCPOptions{MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 987654321, TSEcr: 123456789, HasWindowScale: true, WindowScale: 7},
		}, 40, "", 1, 0xeedf},
		{"data", goldenTcpData, ipA, ipB, TCPFields{
			SrcPort: 43210, DstPort: 80, Seq: 0x1a2b3c4e, Ack: 0x5e6f7082, Flags: FlagPSH | FlagACK, Window: 502,
			Options: TCPOptions{HasTimestamps: true, TSVal: 123456800, TSEcr: 987654321},
		}, 32, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 0xc65b},
		{"sack", goldenTcpSACK, ipB, ipA, TCPFields{
			SrcPort: 80, DstPort: 43210, Seq: 0x5e6f7082, Ack: 0x1a2b3c4e, Flags: FlagACK, Window: 509,
			Options: TCPOptions{HasTimestamps: true, TSVal: 987654400, TSEcr: 123456800,
				NumSACK: 1, SACK: [MaxSACKBlocks]SACKBlock{{0x1a2b3c4e + 1000, 0x1a2b3c4e + 2000}}},
		}, 44, "", 0, 0x2b1c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip, p := l3(t, tt.golden)
			if ip.Src() != tt.src || ip.Dst() != tt.dst {
				t.Fatalf("golden addresses %v > %v", ip.Src(), ip.Dst())
			}
			seg, err := ParseTCP(p)
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if seg.SrcPort() != w.SrcPort || seg.DstPort() != w.DstPort || seg.Seq() != w.Seq || seg.Ack() != w.Ack ||
				seg.Flags() != w.Flags || seg.Window() != w.Window || seg.Urgent() != 0 {
				t.Errorf("header: %d>%d seq %d ack %d flags %v win %d", seg.SrcPort(), seg.DstPort(), seg.Seq(), seg.Ack(), seg.Flags(), seg.Window())
			}
			if seg.HeaderLen() != tt.hl || len(seg.Options()) != tt.hl-20 || string(seg.Payload()) != tt.payload || seg.SegLen() != tt.segLen {
				t.Errorf("hl %d options %d payload %q seglen %d", seg.HeaderLen(), len(seg.Options()), seg.Payload(), seg.SegLen())
			}
			if seg.Checksum() != tt.cksum || !seg.ChecksumValid(tt.src, tt.dst) {
				t.Errorf("checksum %#04x valid %v, want %#04x", seg.Checksum(), seg.ChecksumValid(tt.src, tt.dst), tt.cksum)
			}
			if seg.ChecksumValid(tt.dst, tt.src.Next()) {
				t.Error("checksum accepted against the wrong pseudo-header")
			}
			got, err := seg.Fields()
			if err != nil || got != w {
				t.Errorf("Fields() = %+v, %v\nwant       %+v", got, err, w)
			}
			// Encode from fields: the exact bytes Linux put on the wire.
			if w.HeaderLen() != tt.hl {
				t.Errorf("TCPFields.HeaderLen %d, want %d", w.HeaderLen(), tt.hl)
			}
			out := make([]byte, len(p))
			copy(out[tt.hl:], tt.payload)
			w.Encode(out, tt.src, tt.dst)
			if !bytes.Equal(out, p) {
				t.Errorf("encode = % x\nwant     % x", out[:tt.hl], p[:tt.hl])
			}
		})
	}
}

func TestTCPFlagsHas(t *testing.T) {
	f := FlagSYN | FlagACK
	if !f.Has(FlagSYN) || !f.Has(FlagSYN|FlagACK) || f.Has(FlagSYN|FlagFIN) || !f.Has(0) {
		t.Error("Has")
	}
}

// tcpWithOptions is a 20-byte header (ports 1 > 2, ACK) followed by opts,
// with the data offset set to cover them.
func tcpWithOptions(opts ...byte) []byte {
	b := make([]byte, 20, 20+len(opts))
	b[1], b[3] = 1, 2
	b[12] = byte((20+len(opts))/4) << 4
	b[13] = byte(FlagACK)
	return append(b, opts...)
}

func TestParseTCPMalformed(t *testing.T) {
	tests := []struct {
		name     string
		b        []byte
		sentinel error
	}{
		{"empty", nil, ErrTruncated},
		{"19 bytes", make([]byte, 19), ErrTruncated},
		{"data offset 0", make([]byte, 20), ErrBadLength},
		{"data offset 4", func() []byte { b := make([]byte, 40); b[12] = 4 << 4; return b }(), ErrBadLength},
		{"data offset beyond buffer", func() []byte { b := tcpWithOptions(1, 1, 1, 1); return b[:23] }(), ErrTruncated},
		{"data offset 15 in 40 bytes", func() []byte { b := make([]byte, 40); b[12] = 15 << 4; return b }(), ErrTruncated},
		{"option length 0", tcpWithOptions(30, 0, 1, 1), ErrBadOption},
		{"option length 1", tcpWithOptions(30, 1, 1, 1), ErrBadOption},
		{"option kind without length", tcpWithOptions(1, 1, 1, 2), ErrBadOption},
		{"option past the end", tcpWithOptions(1, 1, 30, 3), ErrBadOption},
		{"mss length past the end", tcpWithOptions(2, 8, 5, 0xb4), ErrBadOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseTCP(tt.b); !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v, want %v", err, tt.sentinel)
			}
		})
	}
}

// TestTCPOptionLengthPerKind: ParseTCP checks only that options are framed;
// a known option with the wrong length for its kind is reported when the
// options are decoded.
func TestTCPOptionLengthPerKind(t *testing.T) {
	tests := []struct {
		name string
		opts []byte
	}{
		{"mss length 3", []byte{2, 3, 5, 1}},
		{"mss length 6", []byte{2, 6, 5, 0xb4, 0, 0, 1, 1}},
		{"wscale length 2", []byte{3, 2, 1, 1}},
		{"sackOK length 3", []byte{4, 3, 0, 1}},
		{"timestamps length 8", []byte{8, 8, 0, 0, 0, 1, 0, 0}},
		{"sack 7 bytes", []byte{5, 7, 0, 0, 0, 1, 0, 0}},
		{"sack no blocks", []byte{5, 2, 1, 1}},
		{"sack 1.5 blocks", []byte{1, 1, 5, 14, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg, err := ParseTCP(tcpWithOptions(tt.opts...))
			if err != nil {
				t.Fatalf("ParseTCP: %v", err)
			}
			if _, err := seg.ParsedOptions(); !errors.Is(err, ErrBadOption) {
				t.Errorf("ParsedOptions err %v, want ErrBadOption", err)
			}
			if _, err := seg.Fields(); !errors.Is(err, ErrBadOption) {
				t.Errorf("Fields err %v, want ErrBadOption", err)
			}
			if _, err := ParseTCPOptions(tt.opts); !errors.Is(err, ErrBadOption) {
				t.Errorf("ParseTCPOptions err %v, want ErrBadOption", err)
			}
		})
	}
}

func TestTCPOptionCorners(t *testing.T) {
	tests := []struct {
		name string
		opts []byte
		want TCPOptions
	}{
		{"empty", nil, TCPOptions{}},
		{"nop padding", []byte{1, 1, 1, 1}, TCPOptions{}},
		{"unknown skipped by length", []byte{30, 6, 9, 9, 9, 9, 2, 4, 2, 0x18}, TCPOptions{MSS: 536}},
		{"unknown length 2", []byte{254, 2, 3, 3, 14, 1}, TCPOptions{HasWindowScale: true, WindowScale: 14}},
		{"eol stops parsing", []byte{2, 4, 5, 0xb4, 0, 3, 3, 7}, TCPOptions{MSS: 1460}},
		{"eol then garbage", []byte{0, 2, 9, 9}, TCPOptions{}},
		{"nop between", []byte{1, 4, 2, 1, 1, 1, 3, 3, 0}, TCPOptions{SACKPermitted: true, HasWindowScale: true}},
		{"four sack blocks", []byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8},
			TCPOptions{NumSACK: 4, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}},
		{"sack wraps", []byte{5, 10, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10}, TCPOptions{NumSACK: 1, SACK: [4]SACKBlock{{0xfffffff0, 0x10}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTCPOptions(tt.opts)
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v\nwant %+v", got, err, tt.want)
			}
			if len(tt.opts)%4 == 0 && len(tt.opts) <= 40 {
				seg, err := ParseTCP(tcpWithOptions(tt.opts...))
				if err != nil {
					t.Fatalf("ParseTCP: %v", err)
				}
				if got, err := seg.ParsedOptions(); err != nil || got != tt.want {
					t.Errorf("via segment %+v, %v", got, err)
				}
			}
		})
	}
}
