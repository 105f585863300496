package netconn

import (
	"io"

	"bytes"
	"errors"
	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/core/wire"
	"github.com/microtcp/microtcp/link"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestPacketConnRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		srv := listen(t, a, "10.0.0.1:7")
		cli := listen(t, b, "0.0.0.0:0")
		done := echo(srv)

		for _, size := range []int{0, 1, 100, 1472, 1473, 8000, 65507} {
			msg := bytes.Repeat([]byte{byte(size)}, size)
			if _, err := cli.WriteTo(msg, net.UDPAddrFromAddrPort(ap("10.0.0.1:7"))); err != nil {
				t.Fatalf("WriteTo %d bytes: %v", size, err)
			}
			buf := make([]byte, 65536)
			n, from, err := cli.ReadFrom(buf)
			if err != nil {
				t.Fatalf("ReadFrom: %v", err)
			}
			if !bytes.Equal(buf[:n], msg) {
				t.Fatalf("size %d: got %d bytes back, content equal %v", size, n, bytes.Equal(buf[:n], msg))
			}
			if got := from.(*net.UDPAddr).AddrPort(); got != ap("10.0.0.1:7") {
				t.Fatalf("from %v, want 10.0.0.1:7", got)
			}
		}
		srv.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("echo server stopped with %v, want net.ErrClosed", err)
		}
	})
}

func TestPacketConnShortBufferTruncates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		srv := listen(t, a, "10.0.0.1:9")
		cli := listen(t, b, "0.0.0.0:0")
		dst := net.UDPAddrFromAddrPort(ap("10.0.0.1:9"))
		for _, msg := range []string{"0123456789abcdef", "second"} {
			if _, err := cli.WriteTo([]byte(msg), dst); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 4)
		n, _, err := srv.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "0123" {
			t.Fatalf("short read = %q, %v; want \"0123\", nil", buf[:n], err)
		}
		// The rest of the first datagram is gone, the second is whole.
		buf = make([]byte, 64)
		n, _, err = srv.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "second" {
			t.Fatalf("next read = %q, %v; want \"second\", nil", buf[:n], err)
		}
	})
}

func TestPacketConnReadPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := newPair(t)
		c := listen(t, a, "10.0.0.1:9")
		if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.ReadFrom(make([]byte, 10))
		oe := wantOpError(t, err, "read", os.ErrDeadlineExceeded)
		if !oe.Timeout() || oe.Net != "udp" || oe.Source.String() != "10.0.0.1:9" {
			t.Fatalf("OpError %+v: want Timeout, Net udp, Source 10.0.0.1:9", oe)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("%v: want a net.Error with Timeout() true", err)
		}
	})
}

func TestPacketConnDeadlineWakesBlockedRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		wake func(c *PacketConn) error
		want error
	}{
		{"past read deadline", func(c *PacketConn) error { return c.SetReadDeadline(time.Now().Add(-time.Second)) }, os.ErrDeadlineExceeded},
		{"SetDeadline now", func(c *PacketConn) error { return c.SetDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"Close", func(c *PacketConn) error { return c.Close() }, net.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, _ := newPair(t)
				c := listen(t, a, "10.0.0.1:9")
				errc := make(chan error, 1)
				go func() {
					_, _, err := c.ReadFrom(make([]byte, 10))
					errc <- err
				}()
				synctest.Wait() // the reader is blocked in its select
				select {
				case err := <-errc:
					t.Fatalf("ReadFrom returned early: %v", err)
				default:
				}
				if err := tc.wake(c); err != nil {
					t.Fatal(err)
				}
				wantOpError(t, <-errc, "read", tc.want)
			})
		})
	}
}

func TestPacketConnFutureDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		c := listen(t, a, "10.0.0.1:9")
		start := time.Now()
		c.SetReadDeadline(start.Add(2 * time.Second))
		_, _, err := c.ReadFrom(make([]byte, 10))
		wantOpError(t, err, "read", os.ErrDeadlineExceeded)
		if got := time.Since(start); got != 2*time.Second {
			t.Fatalf("timed out after %v, want 2s", got)
		}
		// Extending the deadline while blocked: data arriving before the
		// new deadline is delivered.
		c.SetReadDeadline(time.Now().Add(time.Second))
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 10)
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(buf[:n])
		}()
		synctest.Wait()
		c.SetReadDeadline(time.Now().Add(time.Hour))
		time.Sleep(5 * time.Second)
		cli := listen(t, b, "0.0.0.0:0")
		if _, err := cli.WriteTo([]byte("late"), net.UDPAddrFromAddrPort(ap("10.0.0.1:9"))); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "late" {
			t.Fatalf("read %q, want \"late\"", s)
		}
	})
}

func TestDriverCloseUnblocksEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := newPair(t)
		c := listen(t, a, "10.0.0.1:9")
		w := listen(t, a, "0.0.0.0:0")
		readErr := make(chan error, 1)
		go func() {
			_, _, err := c.ReadFrom(make([]byte, 10))
			readErr <- err
		}()
		writeErr := make(chan error, 1)
		go func() {
			// Nobody answers ARP for .99: this write waits ~3 s.
			_, err := w.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(ap("10.0.0.99:9")))
			writeErr <- err
		}()
		synctest.Wait()
		if err := a.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wantOpError(t, <-readErr, "read", net.ErrClosed)
		wantOpError(t, <-writeErr, "write", net.ErrClosed)
		if _, err := c.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(ap("10.0.0.2:9"))); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteTo after driver Close: %v, want net.ErrClosed", err)
		}
		if _, err := OpenUDP(a, "udp", ap("0.0.0.0:0"), netip.AddrPort{}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("OpenUDP after Close: %v, want net.ErrClosed", err)
		}
	})
}

func TestPacketConnUnresolvedHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := newPair(t)
		c := listen(t, b, "0.0.0.0:0")
		start := time.Now()
		_, err := c.WriteTo([]byte("hello?"), net.UDPAddrFromAddrPort(ap("10.0.0.99:53")))
		oe := wantOpError(t, err, "write", syscall.EHOSTUNREACH)
		if oe.Addr.String() != "10.0.0.99:53" {
			t.Fatalf("OpError.Addr = %v, want 10.0.0.99:53", oe.Addr)
		}
		// RFC 1122 §2.3.2.1 leaves the retry schedule to us: 3 requests
		// 1 s apart, then give up one interval after the last.
		if got := time.Since(start); got < 2*time.Second || got > 4*time.Second {
			t.Fatalf("gave up after %v, want about 3s", got)
		}
	})
}

func TestPacketConnWriteDeadlineWhileResolving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := newPair(t)
		c := listen(t, b, "0.0.0.0:0")
		start := time.Now()
		c.SetWriteDeadline(start.Add(500 * time.Millisecond))
		_, err := c.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(ap("10.0.0.99:53")))
		wantOpError(t, err, "write", os.ErrDeadlineExceeded)
		if got := time.Since(start); got != 500*time.Millisecond {
			t.Fatalf("write timed out after %v, want 500ms", got)
		}
		c.SetWriteDeadline(time.Now().Add(-time.Second))
		_, err = c.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(ap("10.0.0.1:53")))
		wantOpError(t, err, "write", os.ErrDeadlineExceeded)
	})
}

func TestConnectedPacketConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		srv := listen(t, a, "10.0.0.1:53")
		echo(srv)
		c, err := OpenUDP(b, "udp4", ap("10.0.0.2:0"), ap("10.0.0.1:53"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.RemoteAddr().String(); got != "10.0.0.1:53" {
			t.Fatalf("RemoteAddr = %s", got)
		}
		for _, m := range []string{"one", "", "three"} {
			if _, err := c.Write([]byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 100)
		for _, m := range []string{"one", "", "three"} {
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != m {
				t.Fatalf("Read = %q, %v; want one datagram %q", buf[:n], err, m)
			}
		}
		_, err = c.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(ap("10.0.0.1:53")))
		oe := wantOpError(t, err, "write", net.ErrWriteToConnected)
		if oe.Net != "udp4" {
			t.Fatalf("OpError.Net = %q, want udp4", oe.Net)
		}
	})
}

func TestUnconnectedWriteNeedsAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := newPair(t)
		c := listen(t, a, "0.0.0.0:0")
		if c.RemoteAddr() != nil {
			t.Fatalf("RemoteAddr = %#v, want a nil interface", c.RemoteAddr())
		}
		_, err := c.Write([]byte("x"))
		wantOpError(t, err, "write", syscall.EDESTADDRREQ)
		_, err = c.WriteTo([]byte("x"), &net.IPAddr{IP: net.IPv4(10, 0, 0, 2)})
		var ae *net.AddrError
		if !errors.As(err, &ae) {
			t.Fatalf("WriteTo an IPAddr: %v, want a *net.AddrError", err)
		}
	})
}

func TestPacketConnUseAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := newPair(t)
		c := listen(t, a, "10.0.0.1:9")
		if err := c.Close(); err != nil {
			t.Fatalf("first Close: %v", err)
		}
		wantOpError(t, c.Close(), "close", net.ErrClosed)
		wantOpError(t, c.SetDeadline(time.Now()), "set", net.ErrClosed)
		_, _, err := c.ReadFrom(make([]byte, 1))
		wantOpError(t, err, "read", net.ErrClosed)
		_, err = c.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(ap("10.0.0.2:9")))
		wantOpError(t, err, "write", net.ErrClosed)
		// The port is free again.
		listen(t, a, "10.0.0.1:9")
	})
}

func TestAddrPortOf(t *testing.T) {
	tests := []struct {
		in      net.Addr
		want    string
		wantErr bool
	}{
		{net.UDPAddrFromAddrPort(ap("10.0.0.1:53")), "10.0.0.1:53", false},
		{&net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 7}, "10.0.0.1:7", false}, // 16-byte form
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 8}, "10.0.0.1:8", false}, // any Addr with a literal String
		{net.UDPAddrFromAddrPort(ap("[::1]:53")), "", true},
		{&net.IPAddr{IP: net.IPv4(10, 0, 0, 1)}, "", true},
		{&net.UDPAddr{Port: 9}, "0.0.0.0:9", false},
		{nil, "", true},
		{(*net.UDPAddr)(nil), "", true},
	}
	for _, tt := range tests {
		got, err := AddrPortOf(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("AddrPortOf(%v) error %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			var ae *net.AddrError
			if !errors.As(err, &ae) {
				t.Errorf("AddrPortOf(%v) error %T, want *net.AddrError", tt.in, err)
			}
			continue
		}
		if got.String() != tt.want {
			t.Errorf("AddrPortOf(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPacketConnConcurrentReaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		srv := listen(t, a, "10.0.0.1:9")
		cli := listen(t, b, "0.0.0.0:0")
		const readers, total = 4, 200
		got := make(chan int, total)
		for range readers {
			go func() {
				buf := make([]byte, 8)
				for {
					if _, _, err := srv.ReadFrom(buf); err != nil {
						return
					}
					got <- 1
				}
			}()
		}
		synctest.Wait()
		dst := net.UDPAddrFromAddrPort(ap("10.0.0.1:9"))
		for i := range total {
			if _, err := cli.WriteTo([]byte{byte(i)}, dst); err != nil {
				t.Fatal(err)
			}
		}
		for range total {
			<-got // a lost wake-up would deadlock the bubble here
		}
		synctest.Wait()
		if len(got) != 0 {
			t.Fatalf("%d datagrams read twice", len(got))
		}
		srv.Close()
	})
}

func TestConnectedPacketConnRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := newPair(t)
		c, err := OpenUDP(b, "udp", ap("10.0.0.2:0"), ap("10.0.0.1:4242"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("anyone?")); err != nil {
			t.Fatalf("first Write: %v", err)
		}
		synctest.Wait() // the ICMP port unreachable comes back
		_, err = c.Write([]byte("again"))
		wantOpError(t, err, "write", syscall.ECONNREFUSED)
	})
}

func BenchmarkPacketConnWriteRead(b *testing.B) {
	la, lb := link.Pipe()
	mk := func(l io.ReadWriteCloser, n byte) *Driver {
		st, err := stack.New(stack.Config{
			Addr: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, n}), 24),
			MAC:  wire.MAC{2, 0, 0, 0, 0, n},
		}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		return NewDriver(l, st)
	}
	da, db := mk(la, 1), mk(lb, 2)
	defer da.Close()
	defer db.Close()
	srv, err := OpenUDP(da, "udp", ap("10.0.0.1:9"), netip.AddrPort{})
	if err != nil {
		b.Fatal(err)
	}
	cli, err := OpenUDP(db, "udp", ap("10.0.0.2:0"), ap("10.0.0.1:9"))
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 1024)
	buf := make([]byte, 2048)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cli.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := srv.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
}
