package tap

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// devPath is the clone device every TUN/TAP interface is created through.
const devPath = "/dev/net/tun"

// Open creates (or attaches to) the interface cfg describes and, when
// cfg.HostAddr or cfg.MTU is set, configures the host side. The interface
// is created in the network namespace of the calling thread. On any error
// nothing is left open: a device created by this call is closed again, which
// removes it from the host.
func Open(cfg Config) (*Device, error) {
	return open(cfg, devPath)
}

// open is Open with the clone device path as a parameter, so that tests can
// reach the "driver missing" path without uninstalling the driver.
func open(cfg Config, path string) (*Device, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Non-blocking so that os.NewFile hands the descriptor to the runtime
	// poller: a blocked Read then parks a goroutine, not a thread, and Close
	// wakes it. This is what water does too.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, explain(&os.PathError{Op: "open", Path: path, Err: err})
	}
	name, err := createInterface(fd, cfg)
	if err != nil {
		unix.Close(fd)
		return nil, explain(err)
	}
	d := &Device{f: os.NewFile(uintptr(fd), name), name: name, mode: cfg.Mode}
	if err := d.r.init(name, d.f); err != nil {
		d.Close()
		return nil, explain(err)
	}
	if err := configureHost(name, cfg); err != nil {
		d.Close()
		return nil, explain(err)
	}
	return d, nil
}

// createInterface binds fd to a new or existing interface with TUNSETIFF
// (Documentation/networking/tuntap.rst §3.2) and returns its name.
func createInterface(fd int, cfg Config) (string, error) {
	ifr, err := unix.NewIfreq(cfg.Name)
	if err != nil {
		return "", fmt.Errorf("interface name %q: %w", cfg.Name, err)
	}
	// IFF_NO_PI: frames start at the Ethernet or IP header, without the
	// 4-byte flags/protocol prefix the driver adds by default.
	flags := uint16(unix.IFF_NO_PI)
	if cfg.Mode == TUN {
		flags |= unix.IFF_TUN
	} else {
		flags |= unix.IFF_TAP
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return "", fmt.Errorf("create %v interface %q: %w", cfg.Mode, cfg.Name, os.NewSyscallError("ioctl TUNSETIFF", err))
	}
	return ifr.Name(), nil
}

// configureHost applies cfg's host-side settings to interface name. The MTU
// comes first so the link never runs with the wrong one, and the link goes
// up last, once its address is in place.
func configureHost(name string, cfg Config) error {
	if cfg.MTU == 0 && !cfg.HostAddr.IsValid() {
		return nil
	}
	ifc, err := newIfControl(name)
	if err != nil {
		return err
	}
	defer ifc.close()
	if cfg.MTU != 0 {
		if err := ifc.setMTU(cfg.MTU); err != nil {
			return err
		}
	}
	if cfg.HostAddr.IsValid() {
		index, err := ifc.index()
		if err != nil {
			return err
		}
		if err := addAddr(index, cfg.HostAddr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := ifc.up(); err != nil {
			return err
		}
	}
	return nil
}

// explain adds to err what the user has to do about it, keeping err
// wrapped so that errors.Is(err, os.ErrPermission) and fs.ErrNotExist work.
func explain(err error) error {
	var pe *os.PathError
	opening := errors.As(err, &pe) && pe.Op == "open"
	switch {
	case opening && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)):
		return fmt.Errorf("tap: %w: needs CAP_NET_ADMIN and read-write access to %s "+
			"(run as root, or `sudo setcap cap_net_admin+ep <binary>` with %s mode 0666)", err, pe.Path, pe.Path)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("tap: %w: needs CAP_NET_ADMIN (run as root or `sudo setcap cap_net_admin+ep <binary>`)", err)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return fmt.Errorf("tap: %w: the TUN/TAP driver is missing "+
			"(load it with `modprobe tun`; in a container pass the device, e.g. `docker run --cap-add NET_ADMIN --device /dev/net/tun`)", err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("tap: %w: the interface is in use by another process, or exists with the other mode", err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("tap: %w: the kernel rejected a setting (name, MTU or address)", err)
	}
	return fmt.Errorf("tap: %w", err)
}
