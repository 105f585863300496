package conformance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
)

func TestPingBothWays(t *testing.T) {
	for _, lt := range []microtcp.LinkType{microtcp.LinkEthernet, microtcp.LinkIP} {
		t.Run(lt.String(), func(t *testing.T) {
			p := newPair(t, opts{LinkType: lt})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			for range 3 {
				if _, err := p.A.Ping(ctx, addrB); err != nil {
					t.Fatalf("A pings B: %v", err)
				}
				if _, err := p.B.Ping(ctx, addrA); err != nil {
					t.Fatalf("B pings A: %v", err)
				}
			}
			a, b := p.A.Stats(), p.B.Stats()
			if a.ICMP.InEchoRequests != 3 || b.ICMP.InEchoRequests != 3 || a.ICMP.InEchoReplies != 3 || b.ICMP.InEchoReplies != 3 {
				t.Fatalf("echo counters: A %+v / B %+v", a.ICMP, b.ICMP)
			}
			if lt == microtcp.LinkIP && a.ARP.In+b.ARP.In != 0 {
				t.Fatalf("ARP on an IP link: A %d B %d", a.ARP.In, b.ARP.In)
			}
		})
	}
}

func TestCapturePing(t *testing.T) {
	var pcap bytes.Buffer
	p := newPair(t, opts{Capture: &pcap})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := p.A.Ping(ctx, addrB); err != nil {
		t.Fatalf("ping: %v", err)
	}
	// Close A so the capture is complete and no longer written to.
	if err := p.A.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.CaptureA.Err(); err != nil {
		t.Fatalf("capture: %v", err)
	}
	file := filepath.Join(t.TempDir(), "ping.pcap")
	if err := os.WriteFile(file, pcap.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skipf("tshark not installed: %v (capture kept at %s)", err, file)
	}
	out, err := exec.Command(tshark, "-n", "-r", file).CombinedOutput()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("tshark:\n%s", text)
	for _, want := range []string{"ARP", "ICMP", "Echo (ping) request", "Echo (ping) reply", "10.0.0.1", "10.0.0.2"} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
	if strings.Contains(text, "Malformed") || strings.Contains(text, "incorrect") {
		t.Errorf("tshark flags a bad frame")
	}
}
