//go:build linux

package netnstest

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const testPrefix = "mtcp-netnstest-"

// threadNetns identifies the network namespace of the calling thread by
// its inode, as `ip netns identify` does.
func threadNetns() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// namedNetns is the inode of the namespace mounted at /run/netns/ns.
func namedNetns(t *testing.T, ns string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/run/netns/"+ns, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestNewCreatesAndDeletes(t *testing.T) {
	var ns string
	t.Run("create", func(t *testing.T) {
		ns = New(t, testPrefix)
		if !regexp.MustCompile("^" + testPrefix + "[0-9a-f]{8}$").MatchString(ns) {
			t.Errorf("New = %q, want %s and eight hex digits", ns, testPrefix)
		}
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			t.Errorf("namespace %s not created: %v", ns, err)
		}
	})
	if ns == "" {
		t.Skip("skipping: the subtest could not create a namespace")
	}
	if _, err := os.Stat("/run/netns/" + ns); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s still exists after its test ended (stat: %v)", ns, err)
	}
}

func TestRunEntersNamespace(t *testing.T) {
	ns := New(t, testPrefix)
	want := namedNetns(t, ns)
	outside, err := threadNetns()
	if err != nil {
		t.Fatal(err)
	}
	if outside == want {
		t.Fatalf("the test already runs in %s", ns)
	}
	inside := func(got *uint64) func() error {
		return func() error {
			var err error
			*got, err = threadNetns()
			return err
		}
	}
	var viaRun, viaGo, viaInNetns uint64
	if err := Run(ns, inside(&viaRun)); err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := <-Go(ns, inside(&viaGo)); err != nil {
		t.Errorf("Go: %v", err)
	}
	if err := InNetns(t, ns, inside(&viaInNetns)); err != nil {
		t.Errorf("InNetns: %v", err)
	}
	for name, got := range map[string]uint64{"Run": viaRun, "Go": viaGo, "InNetns": viaInNetns} {
		if got != want {
			t.Errorf("%s ran fn in namespace inode %d, want %d (%s)", name, got, want, ns)
		}
	}
	if now, err := threadNetns(); err != nil || now != outside {
		t.Errorf("the test's thread moved to namespace inode %d (%v), want %d", now, err, outside)
	}
}

func TestRunReturnsFnError(t *testing.T) {
	ns := New(t, testPrefix)
	errFn := errors.New("fn failed")
	fn := func() error { return fmt.Errorf("wrapped: %w", errFn) }
	if err := Run(ns, fn); !errors.Is(err, errFn) {
		t.Errorf("Run = %v, want %v", err, errFn)
	}
	if err := <-Go(ns, fn); !errors.Is(err, errFn) {
		t.Errorf("Go = %v, want %v", err, errFn)
	}
	if err := InNetns(t, ns, fn); !errors.Is(err, errFn) {
		t.Errorf("InNetns = %v, want %v", err, errFn)
	}
}

func TestRunMissingNamespace(t *testing.T) {
	RequireNetAdmin(t)
	const ns = testPrefix + "never-created"
	called := false
	fn := func() error { called = true; return nil }
	if err := Run(ns, fn); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), ns) {
		t.Errorf("Run in a missing namespace = %v, want an error naming %s and wrapping os.ErrNotExist", err, ns)
	}
	if err := <-Go(ns, fn); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Go in a missing namespace = %v, want os.ErrNotExist", err)
	}
	if called {
		t.Error("fn ran although the namespace does not exist")
	}
}

func TestCommandRunsInNamespace(t *testing.T) {
	ns := New(t, testPrefix)
	// A fresh namespace has a loopback interface and nothing else.
	out := Output(t, Command(t.Context(), ns, "ip", "-o", "link", "show"))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], ": lo: ") {
		t.Errorf("ip link show in %s:\n%s\nwant only lo", ns, out)
	}
	out = Output(t, Command(t.Context(), ns, "ip", "netns", "identify"))
	if got := strings.TrimSpace(string(out)); got != ns {
		t.Errorf("ip netns identify = %q, want %q", got, ns)
	}
	env := Output(t, Command(t.Context(), ns, "env"))
	if !strings.Contains("\n"+string(env), "\nLC_ALL=C\n") {
		t.Errorf("environment of the command lacks LC_ALL=C:\n%s", env)
	}
}

func TestSetLoopbackUp(t *testing.T) {
	ns := New(t, testPrefix)
	up := func() bool {
		var flags uint32
		err := Run(ns, func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			ifr, err := unix.NewIfreq("lo")
			if err != nil {
				return err
			}
			if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
				return err
			}
			flags = uint32(ifr.Uint16())
			return nil
		})
		if err != nil {
			t.Fatalf("flags of lo in %s: %v", ns, err)
		}
		return flags&syscall.IFF_UP != 0
	}
	if up() {
		t.Fatalf("lo is up in the fresh namespace %s", ns)
	}
	SetLoopbackUp(t, ns)
	if !up() {
		t.Errorf("lo is still down in %s after SetLoopbackUp", ns)
	}
}

func TestDisableIPv6(t *testing.T) {
	ns := New(t, testPrefix)
	read := func(conf string) string {
		var b []byte
		err := Run(ns, func() error {
			var err error
			b, err = os.ReadFile("/proc/sys/net/ipv6/conf/" + conf + "/disable_ipv6")
			return err
		})
		if errors.Is(err, os.ErrNotExist) {
			t.Skip("skipping: this kernel has no IPv6")
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if got := read("default"); got != "0" {
		t.Fatalf("IPv6 already disabled in the fresh namespace %s (default/disable_ipv6 = %s)", ns, got)
	}
	DisableIPv6(t, ns)
	for _, conf := range []string{"all", "default", "lo"} {
		if got := read(conf); got != "1" {
			t.Errorf("%s/disable_ipv6 in %s = %s, want 1", conf, ns, got)
		}
	}
}
