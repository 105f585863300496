package tap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNewAddrRequest checks the RTM_NEWADDR message field by field against
// rtnetlink(7): header, ifaddrmsg, then IFA_LOCAL and IFA_ADDRESS.
func TestNewAddrRequest(t *testing.T) {
	tests := []struct {
		prefix netip.Prefix
		family uint8
	}{
		{netip.MustParsePrefix("192.0.2.1/24"), unix.AF_INET},
		{netip.MustParsePrefix("2001:db8::1/64"), unix.AF_INET6},
	}
	ne := binary.NativeEndian
	for _, tt := range tests {
		b := newAddrRequest(7, 42, tt.prefix)
		addr := tt.prefix.Addr().AsSlice()
		attrLen := 4 + len(addr) // both lengths are multiples of 4: no padding
		if want := 16 + 8 + 2*attrLen; len(b) != want {
			t.Fatalf("%v: %d bytes, want %d", tt.prefix, len(b), want)
		}
		if got := ne.Uint32(b[0:]); got != uint32(len(b)) {
			t.Errorf("%v: nlmsg_len %d, want %d", tt.prefix, got, len(b))
		}
		if got := ne.Uint16(b[4:]); got != unix.RTM_NEWADDR {
			t.Errorf("%v: nlmsg_type %d, want RTM_NEWADDR", tt.prefix, got)
		}
		wantFlags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK | unix.NLM_F_CREATE | unix.NLM_F_EXCL)
		if got := ne.Uint16(b[6:]); got != wantFlags {
			t.Errorf("%v: nlmsg_flags %#x, want %#x", tt.prefix, got, wantFlags)
		}
		if got := ne.Uint32(b[8:]); got != 7 {
			t.Errorf("%v: nlmsg_seq %d, want 7", tt.prefix, got)
		}
		m := b[16:]
		if m[0] != tt.family || int(m[1]) != tt.prefix.Bits() || m[3] != unix.RT_SCOPE_UNIVERSE || ne.Uint32(m[4:]) != 42 {
			t.Errorf("%v: ifaddrmsg % x, want family %d, prefixlen %d, scope universe, index 42", tt.prefix, m[:8], tt.family, tt.prefix.Bits())
		}
		a := m[8:]
		for _, typ := range []uint16{unix.IFA_LOCAL, unix.IFA_ADDRESS} {
			if int(ne.Uint16(a[0:])) != attrLen || ne.Uint16(a[2:]) != typ || !bytes.Equal(a[4:attrLen], addr) {
				t.Errorf("%v: attribute % x, want type %d length %d holding %v", tt.prefix, a[:attrLen], typ, attrLen, tt.prefix.Addr())
			}
			a = a[attrLen:]
		}
	}
}

// nlmsg builds one netlink message with the given type, sequence number
// and body, padded to 4 bytes.
func nlmsg(typ uint16, seq uint32, body []byte) []byte {
	b := make([]byte, nlAlign(16+len(body)))
	binary.NativeEndian.PutUint32(b[0:], uint32(16+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	copy(b[16:], body)
	return b
}

// nlerr builds an NLMSG_ERROR body carrying errno (0 for an ACK).
func nlerr(errno int32) []byte {
	b := make([]byte, 20)
	binary.NativeEndian.PutUint32(b, uint32(errno))
	return b
}

func TestParseAck(t *testing.T) {
	const seq = 5
	ack := nlmsg(unix.NLMSG_ERROR, seq, nlerr(0))
	exists := nlmsg(unix.NLMSG_ERROR, seq, nlerr(-int32(unix.EEXIST)))
	other := nlmsg(unix.NLMSG_ERROR, seq+1, nlerr(-int32(unix.EINVAL)))
	notice := nlmsg(unix.RTM_NEWADDR, 0, make([]byte, 8))
	tests := []struct {
		desc     string
		in       []byte
		wantDone bool
		wantIs   error
	}{
		{"ack", ack, true, nil},
		{"error", exists, true, unix.EEXIST},
		{"other request skipped, then ack", append(append([]byte{}, other...), ack...), true, nil},
		{"notification skipped", notice, false, nil},
		{"empty", nil, false, nil},
		{"short header", ack[:10], false, errNetlinkReply},
		{"length beyond datagram", ack[:20], false, errNetlinkReply},
		{"error body cut", nlmsg(unix.NLMSG_ERROR, seq, nil), false, errNetlinkReply},
		{"length below header", func() []byte {
			b := append([]byte{}, ack...)
			binary.NativeEndian.PutUint32(b, 3)
			return b
		}(), false, errNetlinkReply},
	}
	for _, tt := range tests {
		done, err := parseAck(tt.in, seq)
		if done != tt.wantDone {
			t.Errorf("%s: done = %v, want %v", tt.desc, done, tt.wantDone)
		}
		if tt.wantIs == nil && err != nil || tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
			t.Errorf("%s: err = %v, want %v", tt.desc, err, tt.wantIs)
		}
	}
}

func FuzzParseAck(f *testing.F) {
	f.Add(nlmsg(unix.NLMSG_ERROR, 1, nlerr(0)))
	f.Add(nlmsg(unix.NLMSG_ERROR, 1, nlerr(-int32(unix.EPERM))))
	f.Add(append(nlmsg(unix.NLMSG_DONE, 1, nil), nlmsg(unix.NLMSG_ERROR, 1, nlerr(0))...))
	f.Add(nlmsg(unix.NLMSG_ERROR, 1, nlerr(0))[:17])
	f.Add(nlmsg(unix.NLMSG_ERROR, 1, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		done, err := parseAck(b, 1)
		if !done && err != nil && !errors.Is(err, errNetlinkReply) {
			t.Fatalf("not done with error %v that is not errNetlinkReply", err)
		}
	})
}
