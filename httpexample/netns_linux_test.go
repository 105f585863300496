package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The device tests run entirely inside a network namespace they create
// and delete, and use only 192.0.2.0/24 (TEST-NET-1, RFC 5737): nothing
// reaches the host's own interfaces. The namespace helpers are adapted
// from tap/netns_linux_test.go.

// requireNetAdmin skips the test unless it can create namespaces and
// TUN/TAP devices and has the commands it drives.
func requireNetAdmin(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces and TUN/TAP devices")
	}
	for _, cmd := range []string{"ip", "curl"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("skipping: the %s command is not installed", cmd)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("skipping: %v (load the tun module)", err)
	}
}

// withNetns creates a network namespace for this test alone and deletes it
// when the test ends, pass or fail.
func withNetns(t testing.TB) string {
	t.Helper()
	requireNetAdmin(t)
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	name := "mtcp-httpex-" + hex.EncodeToString(r[:])
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

// goInNetns runs fn on an OS thread switched into namespace ns (so that the
// interfaces fn creates belong to ns) and sends its result, or the failure
// to switch, on the returned channel. The thread is switched back
// afterwards; if that fails it stays locked and the runtime destroys it
// rather than reuse a thread in the wrong namespace.
func goInNetns(ns string, fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err, restored := enterAndRun(ns, fn)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return done
}

func enterAndRun(ns string, fn func() error) (err error, restored bool) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return err, true
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err, true
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns into %s: %w", ns, err), true
	}
	err = fn()
	if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
		return errors.Join(err, fmt.Errorf("setns back: %w", serr)), false
	}
	return err, true
}

// nsCommand runs a command inside namespace ns and returns its stdout.
func nsCommand(t *testing.T, ns string, args ...string) []byte {
	t.Helper()
	full := append([]string{"netns", "exec", ns}, args...)
	out, err := exec.Command("ip", full...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("ip %s: %v: %s", strings.Join(full, " "), err, ee.Stderr)
		}
		t.Fatalf("ip %s: %v", strings.Join(full, " "), err)
	}
	return out
}

func TestRunTAP(t *testing.T) { testRunDevice(t, modeTAP) }
func TestRunTUN(t *testing.T) { testRunDevice(t, modeTUN) }

// testRunDevice runs the example on a TAP or TUN device inside a fresh
// namespace and fetches the page with curl from that namespace.
func testRunDevice(t *testing.T, m mode) {
	ns := withNetns(t)
	o := defaultOptions()
	if m == modeTAP {
		o.Tap = "mtcp-ex0"
	} else {
		o.Tun = "mtcp-ex0"
	}
	o.HostAddr = netip.MustParsePrefix("192.0.2.1/24")
	o.Addr = netip.MustParsePrefix("192.0.2.2/24")
	o.Echo = true
	o.Pcap = filepath.Join(t.TempDir(), "device.pcap")
	o.Out = testWriter{t}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan endpoints, 1)
	done := goInNetns(ns, func() error {
		return run(ctx, o, func(ep endpoints) { ready <- ep })
	})
	var ep endpoints
	select {
	case ep = <-ready:
	case err := <-done:
		t.Fatalf("run returned before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not become ready within 30s")
	}
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	if ep.URL != "http://192.0.2.2/" || ep.Echo != "192.0.2.2:7" {
		t.Errorf("endpoints %+v, want http://192.0.2.2/ and 192.0.2.2:7", ep)
	}

	out := nsCommand(t, ns, "curl", "-sS", "--fail", "--noproxy", "*", "--max-time", "30", "http://192.0.2.2/")
	if !strings.Contains(string(out), "microtcp") {
		t.Errorf("curl http://192.0.2.2/ in %s:\n%s", ns, out)
	}
	if out := nsCommand(t, ns, "curl", "-sS", "--fail", "--noproxy", "*", "--max-time", "30", "http://192.0.2.2/stats"); !strings.Contains(string(out), `"SegmentsIn"`) {
		t.Errorf("curl http://192.0.2.2/stats in %s:\n%s", ns, out)
	}

	cancel()
	stopped = true
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30s of cancel")
	}
	// The capture's link type follows the device: Ethernet for TAP, raw
	// IP for TUN (https://www.tcpdump.org/linktypes.html).
	wantType := uint32(1)
	if m == modeTUN {
		wantType = 101
	}
	if b, err := os.ReadFile(o.Pcap); err != nil || len(b) < 24+16 || binary.LittleEndian.Uint32(b[20:]) != wantType {
		t.Errorf("capture %s: %d bytes (%v), want a pcap of link type %d with records", o.Pcap, len(b), err, wantType)
	}
	// The device was not persistent, so closing the stack removed it.
	if out, err := exec.Command("ip", "-n", ns, "link", "show", "mtcp-ex0").CombinedOutput(); err == nil {
		t.Errorf("mtcp-ex0 still exists in %s after run returned:\n%s", ns, out)
	}
}
