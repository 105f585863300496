package conformance

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp"
)

// checkClosedAccept asserts what http.Serve needs from Accept on a closed
// listener: an error wrapping net.ErrClosed that does not claim to be
// temporary (http.Serve retries temporary errors forever).
func checkClosedAccept(t *testing.T, c net.Conn, err error) {
	t.Helper()
	if c != nil {
		t.Errorf("Accept on a closed listener returned a conn %v", c.RemoteAddr())
	}
	var oe *net.OpError
	if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) {
		t.Errorf("Accept after Close: %v, want a *net.OpError wrapping net.ErrClosed", err)
	}
	if isTemporary(err) {
		t.Errorf("Accept after Close: %v claims to be temporary", err)
	}
	if isTimeout(err) {
		t.Errorf("Accept after Close: %v claims to be a timeout", err)
	}
}

func TestTCPListenerCloseUnblocksAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, opts{InBubble: true})
		ln := listenTCP(t, p.B, addrBPort(tcpPort))
		done := make(chan acceptResult, 1)
		go func() {
			c, err := ln.Accept()
			done <- acceptResult{c, err}
		}()
		synctest.Wait() // Accept is blocked now
		select {
		case r := <-done:
			t.Fatalf("Accept returned with nobody dialing: %v, %v", r.c, r.err)
		default:
		}
		if err := ln.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		r := <-done
		checkClosedAccept(t, r.c, r.err)
		// And again, without a pending Accept.
		c, err := ln.Accept()
		checkClosedAccept(t, c, err)
		// The port is free again.
		ln2, err := p.B.Listen("tcp", addrBPort(tcpPort))
		if err != nil {
			t.Fatalf("Listen on the port a closed listener had: %v", err)
		}
		ln2.Close()
	})
}

// http.Serve must return once its listener is closed; a listener whose
// Accept error looked temporary would make it spin instead.
func TestTCPListenerCloseStopsHTTPServe(t *testing.T) {
	p := newPair(t, opts{})
	ln := listenTCP(t, p.B, addrBPort(tcpPort))
	served := make(chan error, 1)
	go func() {
		served <- http.Serve(ln, http.NotFoundHandler())
	}()
	ln.Close()
	select {
	case err := <-served:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("http.Serve returned %v, want an error wrapping net.ErrClosed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("http.Serve did not return within 30s of closing its listener")
	}
}

func TestTCPListenerAcceptDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, opts{InBubble: true})
		ln := listenTCP(t, p.B, addrBPort(tcpPort))
		dl, ok := ln.(deadlineListener)
		if !ok {
			t.Fatalf("%T has no SetDeadline", ln)
		}
		checkTimeout := func(what string, c net.Conn, err error) {
			t.Helper()
			var oe *net.OpError
			if c != nil || !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) || !errors.As(err, &oe) {
				t.Errorf("%s: %v, %v; want a *net.OpError timeout wrapping os.ErrDeadlineExceeded", what, c, err)
			}
			if errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: %v wraps net.ErrClosed, but the listener is open", what, err)
			}
		}

		// A future deadline fires at its time.
		start := time.Now()
		if err := dl.SetDeadline(start.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		c, err := ln.Accept()
		checkTimeout("Accept with a 1m deadline", c, err)
		if got := time.Since(start); got != time.Minute {
			t.Errorf("Accept returned after %v, deadline was 1m", got)
		}

		// A past deadline fails at once.
		if err := dl.SetDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		c, err = ln.Accept()
		checkTimeout("Accept with a past deadline", c, err)
		if time.Since(start) != 0 {
			t.Errorf("Accept with a past deadline blocked for %v", time.Since(start))
		}

		// Setting a deadline wakes a blocked Accept.
		if err := dl.SetDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		done := make(chan acceptResult, 1)
		go func() {
			c, err := ln.Accept()
			done <- acceptResult{c, err}
		}()
		synctest.Wait()
		if err := dl.SetDeadline(time.Now()); err != nil {
			t.Fatal(err)
		}
		r := <-done
		checkTimeout("blocked Accept after SetDeadline(now)", r.c, r.err)

		// Cleared, the listener works as before.
		if err := dl.SetDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		client, server := mustConnect(t, p.A, ln)
		if server.RemoteAddr().String() != client.LocalAddr().String() {
			t.Errorf("accepted conn's remote %v is not the dialer's local %v", server.RemoteAddr(), client.LocalAddr())
		}
	})
}

func TestTCPListenerAddrStable(t *testing.T) {
	p := newPair(t, opts{})
	for _, tc := range []struct {
		address  string
		wantIP   net.IP // nil = unspecified
		wantPort int    // 0 = any ephemeral
	}{
		{address: addrBPort(tcpPort), wantIP: addrB.AsSlice(), wantPort: tcpPort},
		{address: ":8081", wantPort: 8081},
		{address: addrBPort(0), wantIP: addrB.AsSlice()},
		{address: ":0"},
	} {
		t.Run(tc.address, func(t *testing.T) {
			ln := listenTCP(t, p.B, tc.address)
			first := ln.Addr()
			ta, ok := first.(*net.TCPAddr)
			if !ok {
				t.Fatalf("Addr() is %T, want *net.TCPAddr", first)
			}
			if first.Network() != "tcp" {
				t.Errorf("Addr().Network() = %q, want tcp", first.Network())
			}
			if tc.wantIP != nil && !ta.IP.Equal(tc.wantIP) || tc.wantIP == nil && !ta.IP.IsUnspecified() && !ta.IP.Equal(addrB.AsSlice()) {
				t.Errorf("Addr() IP %v, want %v", ta.IP, tc.wantIP)
			}
			if tc.wantPort != 0 && ta.Port != tc.wantPort || ta.Port == 0 {
				t.Errorf("Addr() port %d, want %d (0 = any but 0)", ta.Port, tc.wantPort)
			}

			// Dial the port Addr reports; the accepted conn's local end
			// is that port.
			d := microtcp.Dialer{Stack: p.A}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			accepted := make(chan acceptResult, 1)
			go func() {
				c, err := ln.Accept()
				accepted <- acceptResult{c, err}
			}()
			client, err := d.DialContext(ctx, "tcp", addrBPort(ta.Port))
			if err != nil {
				t.Fatalf("dial the port Addr() reports: %v", err)
			}
			defer client.Close()
			r := <-accepted
			if r.err != nil {
				t.Fatalf("Accept: %v", r.err)
			}
			defer r.c.Close()
			la := r.c.LocalAddr().(*net.TCPAddr)
			if la.Port != ta.Port || !la.IP.Equal(addrB.AsSlice()) {
				t.Errorf("accepted conn's local %v, listener %v", la, ta)
			}
			if client.RemoteAddr().String() != r.c.LocalAddr().String() || client.LocalAddr().String() != r.c.RemoteAddr().String() {
				t.Errorf("ends disagree: client %v→%v, server %v←%v",
					client.LocalAddr(), client.RemoteAddr(), r.c.LocalAddr(), r.c.RemoteAddr())
			}

			if got := ln.Addr().String(); got != first.String() {
				t.Errorf("Addr() changed after Accept: %v, then %v", first, got)
			}
			ln.Close()
			if got := ln.Addr().String(); got != first.String() {
				t.Errorf("Addr() changed after Close: %v, then %v", first, got)
			}
		})
	}
}

// manyDials dials n times at once from A and checks that each dial is
// accepted exactly once by matching a 4-byte id the client sends.
func manyDials(t *testing.T, p *pair, ln net.Listener, n int, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	// Server: accept n conns, read each id, echo it back.
	var (
		mu   sync.Mutex
		seen = make(map[uint32]int, n)
	)
	var serverWG sync.WaitGroup
	acceptErr := make(chan error, 1)
	go func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			serverWG.Add(1)
			go func() {
				defer serverWG.Done()
				defer c.Close()
				if dl, ok := ctx.Deadline(); ok {
					c.SetDeadline(dl)
				}
				var id [4]byte
				if _, err := io.ReadFull(c, id[:]); err != nil {
					t.Errorf("server reading an id from %v: %v", c.RemoteAddr(), err)
					return
				}
				mu.Lock()
				seen[binary.BigEndian.Uint32(id[:])]++
				mu.Unlock()
				if _, err := c.Write(id[:]); err != nil {
					t.Errorf("server echoing to %v: %v", c.RemoteAddr(), err)
				}
			}()
		}
		acceptErr <- nil
	}()

	d := microtcp.Dialer{Stack: p.A}
	var clientWG sync.WaitGroup
	for i := range n {
		clientWG.Add(1)
		go func() {
			defer clientWG.Done()
			c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			defer c.Close()
			var id, echo [4]byte
			binary.BigEndian.PutUint32(id[:], uint32(i))
			if _, err := c.Write(id[:]); err != nil {
				t.Errorf("dial %d: write: %v", i, err)
				return
			}
			if dl, ok := ctx.Deadline(); ok {
				c.SetReadDeadline(dl)
			}
			if _, err := io.ReadFull(c, echo[:]); err != nil || echo != id {
				t.Errorf("dial %d: echo %x, %v", i, echo, err)
			}
		}()
	}
	clientWG.Wait()
	if t.Failed() {
		// Some dials failed: the accept loop may still wait for them.
		ln.Close()
	}
	if err := <-acceptErr; err != nil && !t.Failed() {
		t.Fatalf("Accept: %v", err)
	}
	serverWG.Wait()
	if t.Failed() {
		return
	}
	for i := range uint32(n) {
		if seen[i] != 1 {
			t.Errorf("id %d accepted %d times", i, seen[i])
		}
	}
}

func TestTCPListenerManyDials(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	p := newPair(t, opts{})
	ln := listenTCP(t, p.B, addrBPort(tcpPort))
	start := time.Now()
	manyDials(t, p, ln, n, 60*time.Second)
	t.Logf("%d concurrent dials accepted and echoed in %v; TCP A %+v, B %+v",
		n, time.Since(start), p.A.Stats().TCP, p.B.Stats().TCP)
}

// Dials beyond the backlog while nobody accepts must either wait (the SYN is
// dropped and retransmitted) and succeed once the application accepts, or
// fail cleanly with an error. On virtual time the retransmission backoff
// costs nothing and a hang is reported as a deadlock.
func TestTCPListenerBacklogOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			backlog = 4
			dials   = 6 * backlog
		)
		start := time.Now()
		p := newPair(t, opts{InBubble: true})
		lc := microtcp.ListenConfig{Stack: p.B, Backlog: backlog}
		ln, err := lc.Listen(context.Background(), "tcp", addrBPort(tcpPort))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()

		type dialResult struct {
			id  int
			c   net.Conn
			err error
		}
		results := make(chan dialResult, dials)
		d := microtcp.Dialer{Stack: p.A, Timeout: 10 * time.Minute}
		dial := func(i int) {
			c, err := d.Dial("tcp", ln.Addr().String())
			results <- dialResult{i, c, err}
		}
		// Fill the accept queue first, so that the SYNs beyond it meet a
		// full queue rather than racing the first handshakes.
		for i := range backlog {
			go dial(i)
		}
		synctest.Wait()
		if n := len(results); n != backlog {
			t.Fatalf("%d of %d dials completed with room in the backlog", n, backlog)
		}
		for i := backlog; i < dials; i++ {
			go dial(i)
		}
		// Everything that can happen without Accept has happened.
		synctest.Wait()
		early := len(results)
		t.Logf("%d of %d dials completed before any Accept (backlog %d); B %+v", early, dials, backlog, p.B.Stats().TCP)
		// Like Linux, allow one more than the backlog; beyond that the
		// listener is not bounding the connections waiting for Accept.
		if early > backlog+1 {
			t.Errorf("%d dials completed while nobody accepted, backlog is %d", early, backlog)
		}

		// Now accept everything that arrives and echo one id byte.
		var serverWG sync.WaitGroup
		serverWG.Add(1)
		go func() {
			defer serverWG.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("Accept: %v", err)
					}
					return
				}
				serverWG.Add(1)
				go func() {
					defer serverWG.Done()
					defer c.Close()
					var b [1]byte
					if _, err := io.ReadFull(c, b[:]); err != nil {
						t.Errorf("server read from %v: %v", c.RemoteAddr(), err)
						return
					}
					if _, err := c.Write(b[:]); err != nil {
						t.Errorf("server write to %v: %v", c.RemoteAddr(), err)
					}
				}()
			}
		}()

		ok, failed := 0, 0
		for range dials {
			r := <-results
			if r.err != nil {
				// Failing is allowed, but cleanly: a dial error.
				var oe *net.OpError
				if !errors.As(r.err, &oe) || oe.Op != "dial" {
					t.Errorf("dial %d failed with %v (%T), want a *net.OpError with Op dial", r.id, r.err, r.err)
				}
				failed++
				continue
			}
			if _, err := r.c.Write([]byte{byte(r.id)}); err != nil {
				t.Errorf("dial %d: write: %v", r.id, err)
			}
			var b [1]byte
			_, err := io.ReadFull(r.c, b[:])
			r.c.Close()
			switch {
			case err == nil && b[0] == byte(r.id):
				ok++
			case errors.Is(err, syscall.ECONNRESET):
				// A listener may reset a handshake it had no room
				// for (Linux's tcp_abort_on_overflow): clean too.
				failed++
			default:
				t.Errorf("dial %d succeeded but was not served: %v, %v", r.id, b, err)
			}
		}
		t.Logf("%d dials served, %d failed cleanly, after %v of virtual time", ok, failed, time.Since(start))
		if ok < backlog {
			t.Errorf("only %d dials served, backlog is %d", ok, backlog)
		}
		ln.Close()
		serverWG.Wait()
	})
}
