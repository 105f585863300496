package tap

import (
	"fmt"
	"net/netip"
	"os"
)

// Mode selects what the device carries.
type Mode int

const (
	// TAP carries Ethernet frames; the host side ARPs for the stack.
	TAP Mode = iota
	// TUN carries bare IP packets (no Ethernet header, no packet-information
	// header).
	TUN
)

func (m Mode) String() string {
	switch m {
	case TAP:
		return "TAP"
	case TUN:
		return "TUN"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Config describes the device to open. The zero Config opens a TAP device
// with a kernel-chosen name and leaves the host side unconfigured.
type Config struct {
	// Name is the interface name; "" lets the kernel pick tap%d or tun%d.
	// An existing persistent device of that name and mode is attached to.
	Name string
	// Mode is TAP (the default) or TUN.
	Mode Mode
	// HostAddr, when valid, is assigned to the host side of the link, which
	// is then brought up. The kernel adds the route to the prefix, so the
	// host reaches the stack's address in that prefix through the device.
	HostAddr netip.Prefix
	// MTU, when non-zero, sets the interface MTU; 0 leaves the kernel's 1500.
	MTU int
}

// Device is an open TAP or TUN device. Read, Write and Close may be called
// from different goroutines; concurrent Reads take turns.
type Device struct {
	f    *os.File
	name string
	mode Mode
	r    frameReader
}

// Read reads one frame (TAP) or one packet (TUN) into p, blocking until one
// arrives. A frame longer than p is consumed and truncated to len(p), and
// Read reports it with io.ErrShortBuffer, as link.Pipe does. After Close it
// returns an error satisfying errors.Is(err, os.ErrClosed).
func (d *Device) Read(p []byte) (int, error) { return d.r.read(p) }

// Write sends p as one frame (TAP) or one packet (TUN).
func (d *Device) Write(p []byte) (int, error) { return d.f.Write(p) }

// Close closes the device, unblocking a pending Read. A device that is not
// persistent disappears from the host with its addresses and routes.
func (d *Device) Close() error {
	d.r.closed.Store(true)
	return d.f.Close()
}

// Name is the interface name the kernel gave the device.
func (d *Device) Name() string { return d.name }

// Mode is TAP or TUN.
func (d *Device) Mode() Mode { return d.mode }
