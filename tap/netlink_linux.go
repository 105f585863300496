package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// Sizes of the rtnetlink structures (linux/netlink.h, linux/if_addr.h).
const (
	nlmsgHdrLen  = unix.SizeofNlMsghdr
	ifAddrMsgLen = unix.SizeofIfAddrmsg
	rtAttrLen    = unix.SizeofRtAttr
)

var errNetlinkReply = errors.New("malformed netlink reply")

// nlAlign rounds n up to NLMSG_ALIGNTO/RTA_ALIGNTO (4 bytes).
func nlAlign(n int) int { return (n + 3) &^ 3 }

// addAddr assigns p to interface index, like `ip address add p dev …`.
// An address that is already there counts as success: it is the state the
// caller asked for.
func addAddr(index int, p netip.Prefix) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket netlink", err)
	}
	defer unix.Close(fd)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("bind netlink", err)
	}
	const seq = 1 // one request per socket, so any fixed number identifies it
	if err := unix.Sendto(fd, newAddrRequest(seq, index, p), 0, kernel); err != nil {
		return os.NewSyscallError("sendto netlink", err)
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return os.NewSyscallError("recvfrom netlink", err)
		}
		done, err := parseAck(buf[:n], seq)
		if errors.Is(err, unix.EEXIST) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("add address %v: %w", p, err)
		}
		if done {
			return nil
		}
	}
}

// newAddrRequest builds an RTM_NEWADDR request (rtnetlink(7)) carrying
// IFA_LOCAL and IFA_ADDRESS. Both hold the host address: on a broadcast
// link they are equal, and on a point-to-point link (TUN) an IFA_ADDRESS
// equal to IFA_LOCAL means "no peer", so the kernel routes the whole prefix
// to the device.
func newAddrRequest(seq uint32, index int, p netip.Prefix) []byte {
	family := uint8(unix.AF_INET6)
	if p.Addr().Is4() {
		family = unix.AF_INET
	}
	addr := p.Addr().AsSlice()
	attr := nlAlign(rtAttrLen + len(addr))
	b := make([]byte, nlmsgHdrLen+ifAddrMsgLen+2*attr)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.RTM_NEWADDR)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(b[8:], seq)
	ne.PutUint32(b[12:], 0) // port id 0: the kernel fills in ours
	m := b[nlmsgHdrLen:]
	m[0] = family
	m[1] = uint8(p.Bits())
	m[2] = 0                      // ifa_flags
	m[3] = unix.RT_SCOPE_UNIVERSE // a global address
	ne.PutUint32(m[4:], uint32(index))
	a := m[ifAddrMsgLen:]
	for _, typ := range []uint16{unix.IFA_LOCAL, unix.IFA_ADDRESS} {
		ne.PutUint16(a[0:], uint16(rtAttrLen+len(addr)))
		ne.PutUint16(a[2:], typ)
		copy(a[rtAttrLen:], addr)
		a = a[attr:]
	}
	return b
}

// parseAck scans one datagram from the kernel for the NLMSG_ERROR message
// answering request seq. It reports done when that answer is found, with
// the errno the kernel returned (nil for a plain acknowledgement). Other
// messages are skipped; a truncated or inconsistent datagram is an error,
// never a panic.
func parseAck(b []byte, seq uint32) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return false, fmt.Errorf("%d trailing bytes: %w", len(b), errNetlinkReply)
		}
		msgLen := int(ne.Uint32(b[0:]))
		if msgLen < nlmsgHdrLen || msgLen > len(b) {
			return false, fmt.Errorf("message length %d in %d bytes: %w", msgLen, len(b), errNetlinkReply)
		}
		typ, msgSeq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		if typ == unix.NLMSG_ERROR && msgSeq == seq {
			if msgLen < nlmsgHdrLen+4 {
				return false, fmt.Errorf("error message of %d bytes: %w", msgLen, errNetlinkReply)
			}
			// nlmsgerr.error is 0 for an ACK and a negative errno otherwise.
			if e := int32(ne.Uint32(b[nlmsgHdrLen:])); e != 0 {
				return true, os.NewSyscallError("netlink RTM_NEWADDR", unix.Errno(-e))
			}
			return true, nil
		}
		b = b[min(nlAlign(msgLen), len(b)):]
	}
	return false, nil
}
