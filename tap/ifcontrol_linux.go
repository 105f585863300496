package tap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ifControl issues netdevice(7) ioctls for one interface. The socket only
// selects the network namespace (the calling thread's); its family does not
// matter to these requests.
type ifControl struct {
	fd   int
	name string
}

func newIfControl(name string) (*ifControl, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, os.NewSyscallError("socket", err))
	}
	return &ifControl{fd: fd, name: name}, nil
}

func (c *ifControl) close() { unix.Close(c.fd) }

func (c *ifControl) ioctl(req uint, what string, set func(*unix.Ifreq)) (*unix.Ifreq, error) {
	ifr, err := unix.NewIfreq(c.name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	if set != nil {
		set(ifr)
	}
	if err := unix.IoctlIfreq(c.fd, req, ifr); err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, os.NewSyscallError("ioctl "+what, err))
	}
	return ifr, nil
}

func (c *ifControl) index() (int, error) {
	ifr, err := c.ioctl(unix.SIOCGIFINDEX, "SIOCGIFINDEX", nil)
	if err != nil {
		return 0, err
	}
	return int(ifr.Uint32()), nil
}

func (c *ifControl) setMTU(mtu int) error {
	_, err := c.ioctl(unix.SIOCSIFMTU, fmt.Sprintf("SIOCSIFMTU %d", mtu), func(ifr *unix.Ifreq) { ifr.SetUint32(uint32(mtu)) })
	return err
}

// up sets IFF_UP, keeping the other flags as the kernel has them.
func (c *ifControl) up() error {
	ifr, err := c.ioctl(unix.SIOCGIFFLAGS, "SIOCGIFFLAGS", nil)
	if err != nil {
		return err
	}
	flags := ifr.Uint16() | unix.IFF_UP
	_, err = c.ioctl(unix.SIOCSIFFLAGS, "SIOCSIFFLAGS", func(ifr *unix.Ifreq) { ifr.SetUint16(flags) })
	return err
}
