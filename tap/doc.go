// Package tap opens Linux TAP and TUN devices as frame links for a microtcp
// stack.
//
// A Device is an io.ReadWriteCloser that keeps frame boundaries: each Read
// returns one Ethernet frame (TAP) or one bare IP packet (TUN, opened with
// IFF_NO_PI so no packet-information header precedes it), and each Write sends
// one. Close unblocks a Read that is waiting for the next frame, which is what
// lets a stack's reader goroutine stop.
//
// A stack uses a device like this (the host side gets 10.0.0.5, the userspace
// stack answers as 10.0.0.4 on the same link):
//
//	dev, err := tap.Open(tap.Config{Name: "mtcp0", HostAddr: netip.MustParsePrefix("10.0.0.5/24")})
//	if err != nil {
//		log.Fatal(err) // says what is missing: CAP_NET_ADMIN, /dev/net/tun…
//	}
//	st, err := microtcp.NewStack(dev, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.4/24")})
//
// With Mode: tap.TUN the stack must be told its frames are bare IP packets
// (microtcp.Config{LinkType: microtcp.LinkIP, …}), and the stack's MTU
// should match Config.MTU when that is set.
//
// Opening a device needs CAP_NET_ADMIN and read-write access to /dev/net/tun;
// without them Open fails with an error that wraps os.ErrPermission (or
// fs.ErrNotExist when the driver is missing) and says how to get them.
//
// # Why the device is opened here rather than by water.New
//
// The project's reference for TUN/TAP handling is github.com/songgao/water,
// and this package follows what it does on Linux: open /dev/net/tun
// non-blocking, create the interface with TUNSETIFF (IFF_NO_PI always), and
// wrap the descriptor with os.NewFile, which registers a non-blocking
// descriptor with the runtime poller; that is the property that makes Close
// unblock a pending Read (the tests check it). The steps are done with
// golang.org/x/sys/unix instead of by calling water.New because water.New
// leaks the descriptor when TUNSETIFF fails (the usual failure without
// CAP_NET_ADMIN), returns a bare errno that does not say which step failed,
// and cannot be pointed at another device path, which the tests use to reach
// the "driver missing" path. The host-side setup (address, MTU, link up),
// which water does not do at all, goes through rtnetlink and interface ioctls,
// never through the ip command.
package tap
