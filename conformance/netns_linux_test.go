package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/microtcp/microtcp/tap"
)

// The helpers here keep every packet of the interop tests inside a network
// namespace that the test creates and deletes: the TAP/TUN device is born
// in it, kernel-side sockets are opened from a thread switched into it, and
// kernel-side commands run under `ip netns exec`. Nothing is configured in
// the namespace the test process started in.

// netnsRequire skips the test unless it can create namespaces and TUN/TAP
// devices and every named binary is installed.
func netnsRequire(t testing.TB, bins ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: interop tests need root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create a network namespace and a TUN/TAP device; CI runs them as root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("skipping: %v (load the tun module: modprobe tun)", err)
	}
	for _, b := range append([]string{"ip"}, bins...) {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: %s is not installed (%v); apt-get install %s", b, err, netnsPackageOf(b))
		}
	}
}

// netnsPackageOf names the Debian package that ships a binary, for the
// skip message.
func netnsPackageOf(bin string) string {
	switch bin {
	case "ip":
		return "iproute2"
	case "nft":
		return "nftables"
	case "ping":
		return "iputils-ping"
	}
	return bin
}

// netnsCreate creates a network namespace for this test alone, brings its
// loopback up, and deletes it when the test ends, pass or fail.
func netnsCreate(t testing.TB) string {
	t.Helper()
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	ns := "mtcp-interop-" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a network namespace (ip netns add %s: %v: %s)", ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	if out, err := netnsCommand(context.Background(), ns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bringing lo up in %s: %v: %s", ns, err, out)
	}
	// IPv4 only: otherwise the kernel greets every new interface with
	// IPv6 router solicitations and MLD reports, which the stack (IPv4
	// only) can but drop. Interfaces created later inherit "default".
	err := netnsRun(ns, func() error {
		for _, conf := range []string{"all", "default"} {
			err := os.WriteFile("/proc/sys/net/ipv6/conf/"+conf+"/disable_ipv6", []byte("1"), 0)
			if err != nil && !errors.Is(err, os.ErrNotExist) { // no IPv6 in this kernel: fine
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("disabling IPv6 in %s: %v", ns, err)
	}
	return ns
}

// netnsCommand prepares name args… to run inside namespace ns, in the C
// locale so that output the tests parse is not translated.
func netnsCommand(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// netnsRun runs fn on an OS thread switched into namespace ns, so the
// interfaces and sockets fn creates belong to ns (a socket keeps its
// namespace for life, whichever thread uses it later). The thread is
// switched back afterwards; if that fails it stays locked, and the runtime
// then destroys it rather than reuse a thread in the wrong namespace. It
// returns fn's error or the reason it could not enter ns; it never calls
// t.Fatal, so any goroutine may use it.
func netnsRun(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := netnsEnterAndRun(ns, fn)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

func netnsEnterAndRun(ns string, fn func() error) (restored bool, err error) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return true, fmt.Errorf("netns %s: %w", ns, err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return true, fmt.Errorf("netns %s: %w", ns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return true, fmt.Errorf("setns into %s: %w", ns, os.NewSyscallError("setns", err))
	}
	err = fn()
	if back := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); back != nil {
		return false, errors.Join(err, fmt.Errorf("setns back from %s: %w", ns, os.NewSyscallError("setns", back)))
	}
	return true, err
}

// netnsOpenDevice opens a TAP or TUN device inside ns. The caller owns it
// (a Stack built on it closes it).
func netnsOpenDevice(t testing.TB, ns string, cfg tap.Config) *tap.Device {
	t.Helper()
	var d *tap.Device
	err := netnsRun(ns, func() error {
		var err error
		d, err = tap.Open(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("tap.Open(%+v) in %s: %v", cfg, ns, err)
	}
	return d
}
