package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/nettest"

	"github.com/microtcp/microtcp/link"
)

// makePipe returns a nettest.MakePipe whose c1 is dialed from A and c2 is
// accepted on ln (on B); swap puts the accepted end first, so both roles get
// to be the writer in nettest's one-way subtests.
func makePipe(p *pair, ln net.Listener, swap bool) nettest.MakePipe {
	return func() (c1, c2 net.Conn, stop func(), err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		client, server, err := connectTCP(ctx, p.A, ln)
		if err != nil {
			return nil, nil, nil, err
		}
		stop = func() {
			// nettest closes some conns itself first; a second Close
			// must be harmless, and its error is not what is tested.
			client.Close()
			server.Close()
		}
		if swap {
			return server, client, stop, nil
		}
		return client, server, stop, nil
	}
}

// TestTCPNettest runs nettest.TestConn four times at once: over a clean
// pipe and over one that loses 5 % of frames and holds back another 5 %
// behind their successor (both ways; RTOs, fast retransmit and tail loss
// probes do the work), each with the dialer and then the acceptor as c1.
// The lossy runs are bound by protocol timers, not CPU, so they run in
// parallel. Both pairs belong to the parent test, so their goroutine checks
// run after all four are done.
func TestTCPNettest(t *testing.T) {
	clean := newPair(t, opts{})
	seed := int64(seedFromClock(t))
	loss := 0.05
	if testing.Short() {
		// Each loss in PingPong's 1000 one-segment round trips costs a
		// tail loss probe (2·SRTT + 200 ms, RFC 8985 §7.2): 5 % is ~15 s.
		loss = 0.01
	}
	lossy := newPair(t, opts{Faults: &link.FaultConfig{Seed: seed, Loss: loss, Reorder: 0.05}})
	t.Cleanup(func() {
		t.Logf("faults A→B %+v, B→A %+v", lossy.FaultA.Stats(), lossy.FaultB.Stats())
	})
	port := tcpPort
	for _, v := range []struct {
		name string
		p    *pair
	}{{"clean", clean}, {fmt.Sprintf("loss%g%%+reorder5%%", loss*100), lossy}} {
		for _, swap := range []bool{false, true} {
			name := v.name + "/dialer-is-c1"
			if swap {
				name = v.name + "/acceptor-is-c1"
			}
			// A listener per run, so parallel runs never accept each
			// other's conns.
			ln := listenTCP(t, v.p.B, addrBPort(port))
			port++
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				nettest.TestConn(t, makePipe(v.p, ln, swap))
			})
		}
	}
}

// nettest.TestConn cannot run inside a synctest bubble: it calls t.Run,
// which panics there. These are its timeout checks redone on virtual time,
// where "the deadline fired after exactly d" can be asserted exactly.
func TestTCPDeadlinesSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, opts{InBubble: true})
		ln := listenTCP(t, p.B, addrBPort(tcpPort))
		client, server := mustConnect(t, p.A, ln)

		// A future read deadline fires at its time, not before.
		const d = time.Hour
		start := time.Now()
		if err := client.SetReadDeadline(start.Add(d)); err != nil {
			t.Fatal(err)
		}
		n, err := client.Read(make([]byte, 10))
		checkDeadlineErr(t, "Read with future deadline", n, err)
		if got := time.Since(start); got != d {
			t.Errorf("Read returned after %v, deadline was %v", got, d)
		}

		// A past deadline fails at once, and keeps failing.
		if err := client.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			start = time.Now()
			n, err = client.Read(make([]byte, 10))
			checkDeadlineErr(t, "Read with past deadline", n, err)
			if time.Since(start) != 0 {
				t.Errorf("Read with past deadline blocked for %v", time.Since(start))
			}
		}

		// Clearing the deadline makes the conn usable again, and data
		// that arrived meanwhile is intact.
		if err := client.SetReadDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := server.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 5)
		if _, err := io.ReadFull(client, got); err != nil || string(got) != "hello" {
			t.Fatalf("after clearing the deadline: %q, %v", got, err)
		}

		// Moving the deadline of a blocked Read wakes it (net/http sets a
		// past deadline to abort a background read).
		readDone := make(chan error, 1)
		go func() {
			_, err := client.Read(make([]byte, 10))
			readDone <- err
		}()
		synctest.Wait() // the Read is blocked now
		if err := client.SetReadDeadline(time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := <-readDone; !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
			t.Errorf("blocked Read after SetReadDeadline(now): %v, want a timeout wrapping os.ErrDeadlineExceeded", err)
		}
		if err := client.SetReadDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}

		// A writer whose peer does not read fills the peer's window and
		// its own send buffer, then blocks until its write deadline fires;
		// what it reports written is what arrives, in order.
		if err := client.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// More than the send buffer plus the largest receive window.
		big := make([]byte, 16<<20)
		if _, err := io.ReadFull(body(1, int64(len(big))), big); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		n, err = client.Write(big)
		if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
			t.Fatalf("Write into a full window: %d, %v; want a timeout", n, err)
		}
		if n <= 0 || n >= len(big) {
			t.Fatalf("Write into a full window wrote %d of %d bytes", n, len(big))
		}
		if got := time.Since(start); got != time.Minute {
			t.Errorf("Write returned after %v, deadline was 1m", got)
		}

		// Moving the deadline of a blocked Write wakes it (crypto/tls
		// does this on Close).
		if err := client.SetWriteDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		type writeResult struct {
			n   int
			err error
		}
		writeDone := make(chan writeResult, 1)
		go func() {
			m, err := client.Write(big[n:])
			writeDone <- writeResult{m, err}
		}()
		synctest.Wait() // the Write is blocked on the full window
		if err := client.SetWriteDeadline(time.Now()); err != nil {
			t.Fatal(err)
		}
		w := <-writeDone
		if !errors.Is(w.err, os.ErrDeadlineExceeded) || !isTimeout(w.err) {
			t.Fatalf("blocked Write after SetWriteDeadline(now): %d, %v; want a timeout", w.n, w.err)
		}
		n += w.n

		if err := client.Close(); err != nil {
			t.Fatalf("Close after a timed-out Write: %v", err)
		}
		received, err := io.ReadAll(server)
		if err != nil {
			t.Fatalf("reading what the timed-out Writes sent: %v", err)
		}
		if !bytes.Equal(received, big[:n]) {
			t.Fatalf("peer got %d bytes, the Writes reported %d (or the bytes differ)", len(received), n)
		}
		t.Logf("a non-reading peer absorbed %d bytes before the write deadline", n)
	})
}

func checkDeadlineErr(t *testing.T, what string, n int, err error) {
	t.Helper()
	if n != 0 {
		t.Errorf("%s: read %d bytes", what, n)
	}
	var oe *net.OpError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) || !errors.As(err, &oe) {
		t.Errorf("%s: %v, want a *net.OpError timeout wrapping os.ErrDeadlineExceeded", what, err)
	}
}
