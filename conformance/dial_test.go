package conformance

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp"
)

// checkDialErr asserts the shape package net gives dial errors: a
// *net.OpError with Op "dial", Net "tcp" and the destination, wrapping want.
func checkDialErr(t *testing.T, c net.Conn, err error, dst string, want error) {
	t.Helper()
	if c != nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want %v", dst, want)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("dial %s: %v (%T), want a *net.OpError", dst, err, err)
	}
	if oe.Op != "dial" || oe.Net != "tcp" || oe.Addr == nil || oe.Addr.String() != dst {
		t.Errorf("dial %s: OpError Op %q Net %q Addr %v", dst, oe.Op, oe.Net, oe.Addr)
	}
	if !errors.Is(err, want) {
		t.Errorf("dial %s: %v, want an error wrapping %v", dst, err, want)
	}
}

func TestTCPDialErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, opts{InBubble: true})
		// Nobody answers ARP for these addresses on the link. Each case
		// gets its own: the neighbour cache may remember a failure.
		nobody := [...]string{"10.0.0.99:80", "10.0.0.98:80", "10.0.0.97:80"}

		t.Log("refused: B answers the SYN with a RST")
		closed := addrBPort(9)
		c, err := p.A.Dial("tcp", closed)
		checkDialErr(t, c, err, closed, syscall.ECONNREFUSED)

		t.Log("unreachable: ARP gives up")
		start := time.Now()
		c, err = p.A.Dial("tcp", nobody[0])
		checkDialErr(t, c, err, nobody[0], syscall.EHOSTUNREACH)
		t.Logf("EHOSTUNREACH after %v of virtual time", time.Since(start))

		t.Log("Dialer.Timeout aborts the handshake")
		d := microtcp.Dialer{Stack: p.A, Timeout: 100 * time.Millisecond}
		start = time.Now()
		c, err = d.Dial("tcp", nobody[1])
		checkDialErr(t, c, err, nobody[1], context.DeadlineExceeded)
		if got := time.Since(start); got != d.Timeout {
			t.Errorf("Dialer.Timeout %v returned after %v", d.Timeout, got)
		}

		t.Log("a cancelled context aborts the handshake")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := p.A.DialContext(ctx, "tcp", nobody[2])
			checkDialErr(t, c, err, nobody[2], context.Canceled)
		}()
		synctest.Wait() // the dial is waiting for ARP now
		cancel()
		<-done

		// None of that left state behind: a real dial still works.
		ln := listenTCP(t, p.B, addrBPort(tcpPort))
		client, server := mustConnect(t, p.A, ln)
		if _, err := client.Write([]byte("ok")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2)
		if _, err := server.Read(buf); err != nil || string(buf) != "ok" {
			t.Fatalf("after the failed dials: %q, %v", buf, err)
		}
	})
}
