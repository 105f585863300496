package microtcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp/link"
)

// pair returns hosts 10.0.0.1 and 10.0.0.2 on one link.Pipe, closed at
// cleanup.
func pair(t *testing.T, lt LinkType) (a, b *Stack) {
	t.Helper()
	la, lb := link.Pipe()
	var err error
	a, err = NewStack(la, Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), LinkType: lt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = NewStack(lb, Config{Addr: netip.MustParsePrefix("10.0.0.2/24"), LinkType: lt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

func TestPing(t *testing.T) {
	for _, lt := range []LinkType{LinkEthernet, LinkIP} {
		t.Run(lt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, lt)
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				for _, tc := range []struct {
					from *Stack
					to   string
				}{{a, "10.0.0.2"}, {b, "10.0.0.1"}, {a, "10.0.0.1"}} {
					rtt, err := tc.from.Ping(ctx, netip.MustParseAddr(tc.to))
					if err != nil {
						t.Fatalf("%v pings %s: %v", tc.from.Addr(), tc.to, err)
					}
					if rtt < 0 || rtt > time.Second {
						t.Fatalf("rtt %v out of range", rtt)
					}
				}
				if got := a.Stats().ICMP.InEchoRequests + b.Stats().ICMP.InEchoRequests; got < 2 {
					t.Fatalf("echo requests answered = %d, want at least 2", got)
				}
			})
		})
	}
}

func TestPingUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, LinkEthernet)
		start := time.Now()
		_, err := a.Ping(t.Context(), netip.MustParseAddr("10.0.0.99"))
		if !errors.Is(err, syscall.EHOSTUNREACH) {
			t.Fatalf("Ping nobody = %v, want EHOSTUNREACH", err)
		}
		if got := time.Since(start); got < 2*time.Second || got > 4*time.Second {
			t.Fatalf("gave up after %v, want about 3s of ARP retries", got)
		}
	})
}

func TestPingContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, LinkEthernet)
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		_, err := a.Ping(ctx, netip.MustParseAddr("10.0.0.99"))
		if err != context.DeadlineExceeded {
			t.Fatalf("Ping with a short context = %v, want context.DeadlineExceeded itself", err)
		}
		ctx, cancel = context.WithCancel(t.Context())
		cancel()
		if _, err := a.Ping(ctx, netip.MustParseAddr("10.0.0.2")); err != context.Canceled {
			t.Fatalf("Ping with a cancelled context = %v, want context.Canceled", err)
		}
		if _, err := a.Ping(t.Context(), netip.MustParseAddr("::1")); err == nil {
			t.Fatal("Ping of an IPv6 address succeeded")
		}
	})
}

func TestNetworkAndAddressErrors(t *testing.T) {
	a, _ := pair(t, LinkEthernet)
	type call struct {
		name string
		do   func() error
		want any // pointer to the error type errors.As must find
	}
	une := func() any { var e net.UnknownNetworkError; return &e }
	ae := func() any { var e *net.AddrError; return &e }
	calls := []call{
		{"ListenPacket udp6", func() error { _, err := a.ListenPacket("udp6", ":53"); return err }, une()},
		{"ListenPacket tcp", func() error { _, err := a.ListenPacket("tcp", ":53"); return err }, une()},
		{"Listen udp", func() error { _, err := a.Listen("udp", ":53"); return err }, une()},
		{"Listen tcp6", func() error { _, err := a.Listen("tcp6", ":80"); return err }, une()},
		{"Dial udp6", func() error { _, err := a.Dial("udp6", "10.0.0.2:53"); return err }, une()},
		{"Dial foo", func() error { _, err := a.Dial("foo", "10.0.0.2:53"); return err }, une()},
		{"Dial host name", func() error { _, err := a.Dial("udp", "dns.example:53"); return err }, ae()},
		{"Dial port 0", func() error { _, err := a.Dial("udp", "10.0.0.2:0"); return err }, ae()},
		{"Dial no port", func() error { _, err := a.Dial("udp", "10.0.0.2"); return err }, ae()},
		{"ListenPacket host name", func() error { _, err := a.ListenPacket("udp", "myhost:53"); return err }, ae()},
		{"Dialer bad LocalAddr", func() error {
			_, err := (&Dialer{Stack: a, LocalAddr: &net.IPAddr{IP: net.IPv4(10, 0, 0, 1)}}).Dial("udp", "10.0.0.2:53")
			return err
		}, ae()},
	}
	for _, c := range calls {
		err := c.do()
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Errorf("%s: %v, want a *net.OpError", c.name, err)
			continue
		}
		if !errors.As(err, c.want) {
			t.Errorf("%s: %v (%T), want %T inside", c.name, err, oe.Err, c.want)
		}
	}
	if _, err := a.ListenPacket("udp", "10.0.0.9:53"); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("ListenPacket on a foreign address: %v, want EADDRNOTAVAIL", err)
	}
	c, err := a.ListenPacket("udp", ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := a.ListenPacket("udp4", "10.0.0.1:5353"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second bind of :5353: %v, want EADDRINUSE", err)
	}
}

func TestNilStack(t *testing.T) {
	if _, err := (&Dialer{}).Dial("udp", "10.0.0.1:53"); err == nil || !strings.Contains(err.Error(), "Dialer.Stack is nil") {
		t.Errorf("nil Dialer.Stack: %v", err)
	}
	if _, err := (&ListenConfig{}).ListenPacket(t.Context(), "udp", ":53"); err == nil || !strings.Contains(err.Error(), "ListenConfig.Stack is nil") {
		t.Errorf("nil ListenConfig.Stack: %v", err)
	}
	if _, err := (&ListenConfig{}).Listen(t.Context(), "tcp", ":53"); err == nil || !strings.Contains(err.Error(), "ListenConfig.Stack is nil") {
		t.Errorf("nil ListenConfig.Stack: %v", err)
	}
}

func TestDialUDP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		srv, err := (&ListenConfig{Stack: a}).ListenPacket(t.Context(), "udp", ":53")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		d := &Dialer{Stack: b, Timeout: time.Second, LocalAddr: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 4444}}
		c, err := d.DialContext(t.Context(), "udp4", "10.0.0.1:53")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.LocalAddr().String() != "10.0.0.2:4444" || c.RemoteAddr().String() != "10.0.0.1:53" {
			t.Fatalf("addrs %v -> %v", c.LocalAddr(), c.RemoteAddr())
		}
		if _, err := c.Write([]byte("query")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		n, from, err := srv.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "query" || from.String() != "10.0.0.2:4444" {
			t.Fatalf("server read %q from %v, %v", buf[:n], from, err)
		}
		if _, err := srv.WriteTo([]byte("answer"), from); err != nil {
			t.Fatal(err)
		}
		n, err = c.Read(buf)
		if err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("client read %q, %v", buf[:n], err)
		}

		// An unspecified host dials this host, as in package net.
		self, err := a.Dial("udp", ":53")
		if err != nil {
			t.Fatal(err)
		}
		defer self.Close()
		if self.RemoteAddr().String() != "10.0.0.1:53" {
			t.Fatalf("Dial :53 went to %v", self.RemoteAddr())
		}

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := b.DialContext(ctx, "udp", "10.0.0.1:53"); !errors.Is(err, context.Canceled) {
			t.Fatalf("DialContext with a cancelled context = %v", err)
		}
	})
}

func TestStackClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, LinkEthernet)
		c, err := a.ListenPacket("udp", ":9")
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			_, _, err := c.ReadFrom(make([]byte, 1))
			errc <- err
		}()
		synctest.Wait()
		if err := a.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked ReadFrom after Stack.Close: %v, want net.ErrClosed", err)
		}
		if err := a.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := a.ListenPacket("udp", ":9"); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ListenPacket after Close: %v, want net.ErrClosed", err)
		}
		if _, err := a.Ping(t.Context(), netip.MustParseAddr("10.0.0.2")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Ping after Close: %v, want net.ErrClosed", err)
		}
		if a.Stats().Link.FramesOut == 0 {
			t.Fatal("Stats after Close lost the counters")
		}
	})
}
