package microtcp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp/netconn"
)

// tcpConnMethods is the method set people reach for on *net.TCPConn.
type tcpConnMethods interface {
	net.Conn
	CloseWrite() error
	CloseRead() error
	SetNoDelay(bool) error
	SetKeepAlive(bool) error
	SetKeepAlivePeriod(time.Duration) error
	SetLinger(int) error
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

var _ tcpConnMethods = (*netconn.TCPConn)(nil)

// wantOpError checks err: a *net.OpError with op and net "tcp" that wraps
// want.
func wantOpError(t *testing.T, err error, op string, want error) *net.OpError {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v: want errors.Is %v", err, want)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || (oe.Net != "tcp" && oe.Net != "tcp4") {
		t.Fatalf("error %v (%T): want *net.OpError{Op: %q, Net: tcp}", err, err, op)
	}
	return oe
}

// connPair returns a connection dialled from a to a listener on b, and the
// accepted end.
func connPair(t *testing.T, a, b *Stack) (client, server net.Conn) {
	t.Helper()
	ln, err := b.Listen("tcp", "10.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	acc := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		acc <- result{c, err}
	}()
	client, err = a.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	r := <-acc
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	if client.RemoteAddr().String() != ln.Addr().String() || r.c.RemoteAddr().String() != client.LocalAddr().String() {
		t.Fatalf("addresses: client %v→%v, server %v→%v", client.LocalAddr(), client.RemoteAddr(), r.c.LocalAddr(), r.c.RemoteAddr())
	}
	return client, r.c
}

func TestTCPListenDialEcho(t *testing.T) {
	for _, lt := range []LinkType{LinkEthernet, LinkIP} {
		t.Run(lt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, lt)
				ln, err := b.Listen("tcp", ":7")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				if ln.Addr().String() != "0.0.0.0:7" {
					t.Fatalf("Addr %v", ln.Addr())
				}
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go func() {
							defer c.Close()
							io.Copy(c, c)
						}()
					}
				}()
				seed := rand.Uint64()
				t.Logf("seed %d", seed)
				data := make([]byte, 1<<20)
				rng := rand.New(rand.NewPCG(seed, 0))
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				c, err := a.Dial("tcp", "10.0.0.2:7")
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				werr := make(chan error, 1)
				go func() {
					_, err := c.Write(data)
					if err == nil {
						err = c.(*netconn.TCPConn).CloseWrite()
					}
					werr <- err
				}()
				got, err := io.ReadAll(c)
				if err != nil {
					t.Fatalf("ReadAll: %v", err)
				}
				if err := <-werr; err != nil {
					t.Fatalf("Write: %v", err)
				}
				if sha256.Sum256(got) != sha256.Sum256(data) {
					t.Fatalf("echo of %d bytes came back as %d different bytes", len(data), len(got))
				}
			})
		})
	}
}

func TestTCPDialRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, LinkEthernet)
		_, err := a.Dial("tcp", "10.0.0.2:81")
		oe := wantOpError(t, err, "dial", syscall.ECONNREFUSED)
		if oe.Addr == nil || oe.Addr.String() != "10.0.0.2:81" {
			t.Fatalf("OpError.Addr %v, want 10.0.0.2:81", oe.Addr)
		}
	})
}

func TestTCPDialHostUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, LinkEthernet)
		start := time.Now()
		_, err := a.Dial("tcp", "10.0.0.99:80")
		wantOpError(t, err, "dial", syscall.EHOSTUNREACH)
		if took := time.Since(start); took > 4*time.Second {
			t.Fatalf("gave up after %v, want about 3s of ARP retries", took)
		}
	})
}

func TestTCPDialContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, LinkEthernet)
		d := &Dialer{Stack: a, Timeout: 200 * time.Millisecond}
		start := time.Now()
		_, err := d.Dial("tcp", "10.0.0.99:80")
		oe := wantOpError(t, err, "dial", context.DeadlineExceeded)
		if !oe.Timeout() {
			t.Fatal("Timeout() false for a dial timeout")
		}
		if took := time.Since(start); took != 200*time.Millisecond {
			t.Fatalf("Dialer.Timeout 200ms returned after %v", took)
		}
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(100 * time.Millisecond) // virtual time: cancels mid-handshake
			cancel()
		}()
		_, err = a.DialContext(ctx, "tcp", "10.0.0.99:80")
		wantOpError(t, err, "dial", context.Canceled)
		// Cancelling aborted the connection: a dial that succeeds later is
		// unaffected.
		ln, err := a.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := a.Dial("tcp", "10.0.0.1:80")
		if err != nil {
			t.Fatalf("loopback dial: %v", err)
		}
		c.Close()
	})
}

func TestTCPListenerCloseUnblocksAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := pair(t, LinkEthernet)
		ln, err := (&ListenConfig{Stack: b, Backlog: 16}).Listen(t.Context(), "tcp4", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			_, err := ln.Accept()
			errc <- err
		}()
		synctest.Wait()
		if err := ln.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err = <-errc
		oe := wantOpError(t, err, "accept", net.ErrClosed)
		if temp, ok := err.(interface{ Temporary() bool }); ok && temp.Temporary() {
			t.Fatal("Accept error after Close is temporary: http.Serve would spin")
		}
		if oe.Addr.String() != "10.0.0.2:80" {
			t.Fatalf("OpError.Addr %v", oe.Addr)
		}
		if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Close: %v, want net.ErrClosed", err)
		}
		// The port is free again.
		ln2, err := b.Listen("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatalf("Listen after Close: %v", err)
		}
		ln2.Close()
	})
}

func TestTCPAcceptDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		ln, err := b.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		tl := ln.(*netconn.Listener)
		start := time.Now()
		if err := tl.SetDeadline(start.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err = ln.Accept()
		oe := wantOpError(t, err, "accept", os.ErrDeadlineExceeded)
		if !oe.Timeout() || time.Since(start) != time.Second {
			t.Fatalf("Accept timed out after %v (Timeout %v), want 1s", time.Since(start), oe.Timeout())
		}
		// Clearing the deadline makes Accept wait for a connection again.
		if err := tl.SetDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		go func() {
			if c, err := a.Dial("tcp", "10.0.0.2:80"); err == nil {
				c.Close()
			}
		}()
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("Accept after clearing the deadline: %v", err)
		}
		c.Close()
	})
}

func TestTCPCloseWriteHalfClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		client, server := connPair(t, a, b)
		if _, err := client.Write([]byte("request")); err != nil {
			t.Fatal(err)
		}
		if err := client.(*netconn.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(server)
		if err != nil || string(got) != "request" {
			t.Fatalf("server read %q, %v; want the request then io.EOF", got, err)
		}
		// The half-closed peer can still write back.
		if _, err := server.Write([]byte("response")); err != nil {
			t.Fatal(err)
		}
		server.Close()
		got, err = io.ReadAll(client)
		if err != nil || string(got) != "response" {
			t.Fatalf("client read %q, %v", got, err)
		}
		if _, err := client.Write([]byte("more")); err == nil {
			t.Fatal("Write after CloseWrite succeeded")
		}
	})
}

func TestTCPLingerZeroResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		client, server := connPair(t, a, b)
		if err := client.(*netconn.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		client.Close()
		_, err := server.Read(make([]byte, 10))
		wantOpError(t, err, "read", syscall.ECONNRESET)
	})
}

func TestTCPCloseWithUnreadDataResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		client, server := connPair(t, a, b)
		if _, err := client.Write([]byte("never read")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the bytes reached the server's buffer
		server.Close()  // RFC 1122 4.2.2.13: unread data → RST
		_, err := client.Read(make([]byte, 10))
		wantOpError(t, err, "read", syscall.ECONNRESET)
	})
}

func TestTCPDeadlinesWakeBlockedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		client, server := connPair(t, a, b)
		errc := make(chan error, 1)
		go func() {
			_, err := client.Read(make([]byte, 10))
			errc <- err
		}()
		synctest.Wait()
		// net/http sets a past read deadline and waits for the Read.
		client.SetReadDeadline(time.Unix(1, 0))
		wantOpError(t, <-errc, "read", os.ErrDeadlineExceeded)
		// A cleared deadline lets reading resume.
		client.SetReadDeadline(time.Time{})
		server.Write([]byte("x"))
		if n, err := client.Read(make([]byte, 10)); n != 1 || err != nil {
			t.Fatalf("Read after clearing the deadline: %d, %v", n, err)
		}
		// A Write into a peer that never reads fills the buffers, then
		// times out; it reports how much was queued.
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		n, err := client.Write(make([]byte, 16<<20))
		wantOpError(t, err, "write", os.ErrDeadlineExceeded)
		if n <= 0 || n >= 16<<20 {
			t.Fatalf("Write queued %d bytes before its deadline", n)
		}
		// Close of a conn whose peer's window is zero returns at once.
		start := time.Now()
		client.(*netconn.TCPConn).SetLinger(-1)
		client.Close()
		if time.Since(start) != 0 {
			t.Fatalf("Close blocked for %v", time.Since(start))
		}
		if _, err := client.Read(nil); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
		}
	})
}

func TestTCPStackCloseResetsPeerAndLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		baseline := runtime.NumGoroutine()
		a, b := pair(t, LinkEthernet)
		ln, err := b.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 10)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}
		}()
		var conns []net.Conn
		for range 10 {
			c, err := a.Dial("tcp", "10.0.0.2:80")
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		blocked := make(chan error, 1)
		go func() {
			_, err := conns[0].Read(make([]byte, 1))
			blocked <- err
		}()
		synctest.Wait()
		// Closing A resets its connections; B's ends see ECONNRESET.
		a.Close()
		if err := <-blocked; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked Read after Stack.Close: %v, want net.ErrClosed", err)
		}
		for range 10 {
			s := <-accepted
			_, err := s.Read(make([]byte, 1))
			wantOpError(t, err, "read", syscall.ECONNRESET)
			s.Close()
		}
		for _, c := range conns {
			c.Close()
		}
		b.Close()
		if _, ok := <-accepted; ok {
			t.Fatal("Accept returned a connection after Stack.Close")
		}
		synctest.Wait()
		if n := runtime.NumGoroutine(); n != baseline {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after closing everything, want %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
		}
	})
}

func TestTCPConfig(t *testing.T) {
	for _, cfg := range []Config{
		{TCPSendBuffer: -1},
		{TCPReceiveBuffer: -1},
		{MSL: -time.Second},
		{CongestionControl: "bbr"},
		{TCPMemoryBudget: -1},
	} {
		cfg.Addr = netip.MustParsePrefix("10.0.0.1/24")
		if _, err := cfg.stackConfig(); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	tuned := Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), TCPMemoryBudget: 8 << 20, RACK: true, CongestionControl: "newreno"}
	sc, err := tuned.stackConfig()
	if err != nil || sc.TCP.MemoryBudget != 8<<20 || !sc.TCP.RACK || sc.TCP.CongestionControl != "newreno" {
		t.Errorf("tuning did not reach the engine: %+v, %v", sc.TCP, err)
	}
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		client, server := connPair(t, a, b)
		// Many small writes with Nagle off arrive intact, in order.
		var want bytes.Buffer
		for i := range 200 {
			msg := []byte{byte(i), byte(i >> 8), 'x'}
			want.Write(msg)
			if _, err := client.Write(msg); err != nil {
				t.Fatal(err)
			}
		}
		client.(*netconn.TCPConn).CloseWrite()
		got, err := io.ReadAll(server)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("read %d bytes (%v), want %d", len(got), err, want.Len())
		}
		tc := client.(*netconn.TCPConn)
		for _, err := range []error{tc.SetNoDelay(false), tc.SetKeepAlive(true), tc.SetKeepAlivePeriod(time.Minute), tc.SetReadBuffer(1 << 20), tc.SetWriteBuffer(1 << 20)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := tc.SetReadBuffer(-1); err == nil {
			t.Fatal("SetReadBuffer(-1) accepted")
		}
	})
}

func TestTCPCloseIsGracefulAndReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		client, server := connPair(t, a, b)
		// More than the peer's receive buffer: its window closes while
		// the rest waits in our send buffer.
		data := make([]byte, 400<<10)
		for i := range data {
			data[i] = byte(i * 31)
		}
		werr := make(chan error, 1)
		go func() {
			_, err := client.Write(data)
			werr <- err
		}()
		time.Sleep(5 * time.Second) // virtual time: the window stays zero a while
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 0 {
			t.Fatalf("Close took %v", time.Since(start))
		}
		got, err := io.ReadAll(server)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("server read %d bytes (%v), want the %d written before Close, then EOF", len(got), err, len(data))
		}
	})
}

func TestTCPDialerLocalAddrAndKeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, LinkEthernet)
		ln, err := (&ListenConfig{Stack: b, KeepAlive: -1}).Listen(t.Context(), "tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		d := &Dialer{Stack: a, LocalAddr: &net.TCPAddr{Port: 40000}, KeepAlive: time.Second}
		c, err := d.Dial("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		if c.LocalAddr().String() != "10.0.0.1:40000" {
			t.Fatalf("LocalAddr %v, want 10.0.0.1:40000", c.LocalAddr())
		}
		// The same 4-tuple cannot be opened twice.
		if _, err := d.Dial("tcp", "10.0.0.2:80"); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("second Dial from the same port: %v, want EADDRINUSE", err)
		}
		// Keep-alive probes every second on an idle connection: the peer
		// answers each, so the connection survives well past 9 probes.
		sent := a.Stats().TCP.SegmentsOut
		time.Sleep(30 * time.Second)
		if got := a.Stats().TCP.SegmentsOut - sent; got < 20 {
			t.Fatalf("%d segments in 30 idle seconds, want keep-alive probes", got)
		}
		if _, err := c.Write([]byte("still there")); err != nil {
			t.Fatalf("Write after idle keep-alive: %v", err)
		}
		c.Close()
	})
}
