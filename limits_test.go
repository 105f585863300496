package microtcp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp/link"
)

// Resource limits end to end (issue #7).

// tunedPair is pair on Ethernet with each stack's own Config (Addr is
// filled in) and a pipe queue of qlen frames per direction, deep enough
// for the bursts of the tests that use it.
func tunedPair(t *testing.T, ca, cb Config, qlen int) (a, b *Stack) {
	t.Helper()
	la, lb := link.NewPipe(link.PipeConfig{QueueLen: qlen})
	ca.Addr = netip.MustParsePrefix("10.0.0.1/24")
	cb.Addr = netip.MustParsePrefix("10.0.0.2/24")
	var err error
	if a, err = NewStack(la, ca); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if b, err = NewStack(lb, cb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// acceptAll accepts from ln until it fails and hands every connection to
// the returned channel, closed when Accept fails.
func acceptAll(ln net.Listener, capacity int) <-chan net.Conn {
	ch := make(chan net.Conn, capacity)
	go func() {
		defer close(ch)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	return ch
}

func TestMaxTCPConnectionsConfig(t *testing.T) {
	cfg := Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), MaxTCPConnections: -1}
	if _, err := cfg.stackConfig(); err == nil {
		t.Fatal("negative MaxTCPConnections accepted")
	}
	cfg.MaxTCPConnections = 7
	if sc, err := cfg.stackConfig(); err != nil || sc.TCP.MaxConnections != 7 {
		t.Fatalf("MaxTCPConnections did not reach the engine: %d, %v", sc.TCP.MaxConnections, err)
	}
}

// dialTwo opens two connections from a to a listener on b:80 that
// accepts in the background; everything closes when the test ends.
func dialTwo(t *testing.T, a, b *Stack) (accepted <-chan net.Conn, conns []net.Conn) {
	t.Helper()
	ln, err := b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = acceptAll(ln, 8)
	for range 2 {
		c, err := a.Dial("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	return accepted, conns
}

// TestMaxTCPConnectionsDial: at the dialling stack's limit Dial fails at
// once with a *net.OpError wrapping ENOBUFS; a connection that ends (its
// TIME-WAIT included, which gives way) makes room again.
func TestMaxTCPConnectionsDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := tunedPair(t, Config{MaxTCPConnections: 2}, Config{}, 0)
		accepted, conns := dialTwo(t, a, b)
		_, err := a.Dial("tcp", "10.0.0.2:80")
		wantOpError(t, err, "dial", syscall.ENOBUFS)
		if st := a.Stats().TCP; st.ConnLimitRefused != 1 || st.Connections != 2 {
			t.Fatalf("ConnLimitRefused %d, Connections %d; want 1, 2", st.ConnLimitRefused, st.Connections)
		}
		// The client closes first and keeps the TIME-WAIT, which counts
		// but gives way to the next Dial.
		conns[0].Close()
		s := <-accepted
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("server read %v, want EOF", err)
		}
		s.Close()
		synctest.Wait()
		if st := a.Stats().TCP; st.Connections != 2 {
			t.Fatalf("Connections %d, want 2 (one in TIME-WAIT)", st.Connections)
		}
		c, err := a.Dial("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatalf("Dial with a TIME-WAIT to reclaim: %v", err)
		}
		c.Close()
		if st := a.Stats().TCP; st.TimeWaitRecycled != 1 {
			t.Fatalf("TimeWaitRecycled %d, want 1", st.TimeWaitRecycled)
		}
	})
}

// TestMaxTCPConnectionsListen: at the listening stack's limit SYNs are
// dropped and counted; the dialler keeps retrying and gets in once a
// connection has ended.
func TestMaxTCPConnectionsListen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := tunedPair(t, Config{}, Config{MaxTCPConnections: 2}, 0)
		accepted, conns := dialTwo(t, a, b)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := (&Dialer{Stack: a}).DialContext(ctx, "tcp", "10.0.0.2:80")
		wantOpError(t, err, "dial", context.DeadlineExceeded)
		if st := b.Stats().TCP; st.ConnLimitDrops == 0 || st.Connections != 2 {
			t.Fatalf("listener at the limit: ConnLimitDrops %d, Connections %d", st.ConnLimitDrops, st.Connections)
		}

		done := make(chan error, 1)
		go func() {
			c, err := a.Dial("tcp", "10.0.0.2:80")
			if err == nil {
				c.Close()
			}
			done <- err
		}()
		synctest.Wait() // its SYN was dropped: it waits to retransmit
		// The server closes first this time: the TIME-WAIT is b's, which
		// the next SYN may reclaim through a cookie.
		s := <-accepted
		s.Close()
		if _, err := conns[0].Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("client read %v, want EOF", err)
		}
		conns[0].Close()
		if err := <-done; err != nil {
			t.Fatalf("Dial once room was made: %v", err)
		}
	})
}

// TestAcceptQueueBacklog: 1,000 clients dial at once while nobody
// accepts. The accept queue never holds more than the backlog (the ACKs
// and SYNs beyond it are dropped and counted); every client connects and
// is served once Accept runs.
func TestAcceptQueueBacklog(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	const backlog = 64
	synctest.Test(t, func(t *testing.T) {
		a, b := tunedPair(t, Config{}, Config{}, 4*n)
		ln, err := (&ListenConfig{Stack: b, Backlog: backlog}).Listen(t.Context(), "tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		errs := make(chan error, n)
		for i := range n {
			go func() {
				// The dials arrive over one (virtual) second rather than
				// all in one instant: perfectly synchronised clients would
				// also retry in lockstep into the same full queue forever
				// after, which no real network does.
				time.Sleep(time.Duration(i) * time.Second / time.Duration(n))
				c, err := a.Dial("tcp", "10.0.0.2:80")
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				// A byte to send makes the client retransmit its side of
				// the handshake (a dropped cookie ACK has no other).
				if _, err := c.Write([]byte{byte(i)}); err != nil {
					errs <- err
					return
				}
				buf := make([]byte, 1)
				if _, err := io.ReadFull(c, buf); err != nil || buf[0] != byte(i)+1 {
					errs <- errors.Join(err, errors.New("bad reply"))
					return
				}
				errs <- nil
			}()
		}
		time.Sleep(2 * time.Second) // every dial has started; nobody accepts yet
		synctest.Wait()
		st := b.Stats().TCP
		t.Logf("%d dials, nobody accepting: accept queue peak %d, listen overflows %d, SYN cookies %d, connections %d",
			n, st.AcceptQueuePeak, st.ListenOverflows, st.SynCookiesSent, st.Connections)
		if st.AcceptQueuePeak != backlog || st.ListenOverflows == 0 {
			t.Fatalf("accept queue peak %d with backlog %d, overflows %d: want the queue full and no further", st.AcceptQueuePeak, backlog, st.ListenOverflows)
		}

		start := time.Now()
		// Accept in the background so that a client that fails is
		// reported with its error rather than leaving Accept waiting for
		// a connection that never comes.
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return // the listener closed when the test ended
				}
				go func() {
					defer c.Close()
					buf := make([]byte, 1)
					if _, err := io.ReadFull(c, buf); err == nil {
						buf[0]++
						c.Write(buf)
					}
				}()
			}
		}()
		// Under this overload a client may still be refused: its SYN or its
		// handshake-completing ACK is dropped each time it retries into a
		// full queue (Linux drops them the same way), and a cookie whose ACK
		// keeps being dropped expires, so its next segment draws a RST.
		// That is a clear error, never a hang or corruption; most are served.
		served, refused := 0, 0
		for i := range n {
			switch err := <-errs; {
			case err == nil:
				served++
			case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ETIMEDOUT):
				refused++
			default:
				t.Fatalf("client %d of %d: %v", i, n, err)
			}
		}
		if refused > n/20 {
			t.Fatalf("%d of %d clients refused, want at most 5%%", refused, n)
		}
		st = b.Stats().TCP
		t.Logf("%d of %d served, %d refused, %v (virtual) after Accept started; accept queue peak %d", served, n, refused, time.Since(start), st.AcceptQueuePeak)
		if st.AcceptQueuePeak != backlog {
			t.Fatalf("accept queue peak %d, backlog %d", st.AcceptQueuePeak, backlog)
		}
	})
}
