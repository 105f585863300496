package main

import (
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/microtcp/microtcp/internal/netnstest"
)

// The device tests run entirely inside a network namespace they create
// and delete, and use only 192.0.2.0/24 (TEST-NET-1, RFC 5737): nothing
// reaches the host's own interfaces.

func TestRunTAP(t *testing.T) { testRunDevice(t, modeTAP) }
func TestRunTUN(t *testing.T) { testRunDevice(t, modeTUN) }

// testRunDevice runs the example on a TAP or TUN device inside a fresh
// namespace and fetches the page with curl from that namespace.
func testRunDevice(t *testing.T, m mode) {
	netnstest.RequireNetAdmin(t, "curl")
	ns := netnstest.New(t, "mtcp-httpex-")
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
	done := netnstest.Go(ns, func() error {
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

	out := netnstest.Output(t, netnstest.Command(t.Context(), ns, "curl", "-sS", "--fail", "--noproxy", "*", "--max-time", "30", "http://192.0.2.2/"))
	if !strings.Contains(string(out), "microtcp") {
		t.Errorf("curl http://192.0.2.2/ in %s:\n%s", ns, out)
	}
	if out := netnstest.Output(t, netnstest.Command(t.Context(), ns, "curl", "-sS", "--fail", "--noproxy", "*", "--max-time", "30", "http://192.0.2.2/stats")); !strings.Contains(string(out), `"SegmentsIn"`) {
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
