//go:build linux

package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// tunPath is the clone device every TUN/TAP interface is created through.
const tunPath = "/dev/net/tun"

// RequireNetAdmin skips t unless it can create network namespaces and
// TUN/TAP devices (root, /dev/net/tun, the ip command) and every program
// named in programs is installed.
func RequireNetAdmin(t testing.TB, programs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create a network namespace and a TUN/TAP device; CI runs these tests as root")
	}
	if _, err := os.Stat(tunPath); err != nil {
		t.Skipf("skipping: %v (load the tun module: modprobe tun)", err)
	}
	for _, p := range append([]string{"ip"}, programs...) {
		RequireCommand(t, p)
	}
}

// New creates a network namespace for t alone, named prefix followed by
// eight random hex digits, and deletes it when t ends, pass or fail. It
// skips t when RequireNetAdmin would, or when the namespace cannot be
// created. Cleanups registered after New run before the namespace goes.
func New(t testing.TB, prefix string) string {
	t.Helper()
	if prefix == "" || strings.ContainsAny(prefix, "/ \t\n") {
		t.Fatalf("netnstest.New: prefix %q must be non-empty and hold no slash or space", prefix)
	}
	RequireNetAdmin(t)
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	ns := prefix + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a network namespace (ip netns add %s: %v: %s)", ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	return ns
}

// SetLoopbackUp brings the loopback interface of namespace ns up, so that
// programs in ns can reach their own addresses.
func SetLoopbackUp(t testing.TB, ns string) {
	t.Helper()
	if out, err := Command(t.Context(), ns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bringing lo up in %s: %v: %s", ns, err, out)
	}
}

// DisableIPv6 turns IPv6 off in namespace ns for the interfaces that exist
// and those created later. Without it the kernel greets every new
// interface with IPv6 router solicitations and MLD reports, which an
// IPv4-only peer can but drop. A kernel without IPv6 is left as it is.
func DisableIPv6(t testing.TB, ns string) {
	t.Helper()
	err := Run(ns, func() error {
		// "default" is what interfaces created later inherit.
		for _, conf := range []string{"all", "default"} {
			err := os.WriteFile("/proc/sys/net/ipv6/conf/"+conf+"/disable_ipv6", []byte("1"), 0)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("disabling IPv6 in %s: %v", ns, err)
	}
}

// Command prepares the program name with args to run inside namespace ns
// under `ip netns exec`, in the C locale so that output tests parse is not
// translated. ctx kills the command as exec.CommandContext does.
func Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}
