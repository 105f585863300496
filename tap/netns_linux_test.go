package tap

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// requireNetAdmin skips the test unless it can create namespaces and TUN/TAP
// devices: root, the ip command and /dev/net/tun.
func requireNetAdmin(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces and TUN/TAP devices")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: the ip command (iproute2) is not installed")
	}
	if _, err := os.Stat(devPath); err != nil {
		t.Skipf("skipping: %v (load the tun module)", err)
	}
}

// withNetns creates a network namespace for this test alone and deletes it
// when the test ends, pass or fail. All traffic a test makes stays in it.
func withNetns(t testing.TB) (name string) {
	t.Helper()
	requireNetAdmin(t)
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	name = "mtcp-test-" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a network namespace (ip netns add %s: %v: %s)", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// inNetns runs fn on an OS thread switched into namespace ns, so that the
// interfaces and sockets fn creates belong to ns. The thread is switched
// back afterwards; if that fails it is left locked, and the runtime then
// destroys it instead of reusing a thread in the wrong namespace.
func inNetns(t testing.TB, ns string, fn func() error) error {
	t.Helper()
	type result struct{ setup, fn error }
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		res, restored := enterAndRun(ns, fn)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- res
	}()
	res := <-done
	if res.setup != nil {
		t.Fatalf("netns %s: %v", ns, res.setup)
	}
	return res.fn
}

func enterAndRun(ns string, fn func() error) (res struct{ setup, fn error }, restored bool) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		res.setup = err
		return res, true
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		res.setup = err
		return res, true
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		res.setup = fmt.Errorf("setns into %s: %w", ns, err)
		return res, true
	}
	res.fn = fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		res.setup = errors.Join(res.setup, fmt.Errorf("setns back: %w", err))
		return res, false
	}
	return res, true
}

// openIn opens a device inside namespace ns and closes it when the test ends.
func openIn(t testing.TB, ns string, cfg Config) *Device {
	t.Helper()
	var d *Device
	err := inNetns(t, ns, func() error {
		var err error
		d, err = Open(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("Open(%+v) in %s: %v", cfg, ns, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
