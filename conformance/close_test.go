package conformance

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// What the peer of a closing conn sees: FIN (io.EOF) after a graceful Close,
// RST (ECONNRESET) when Close discards unread data (RFC 1122 4.2.2.13) or
// after SetLinger(0). The closer's Close returns at once in every case.
func TestTCPCloseGracefulOrReset(t *testing.T) {
	type linger interface{ SetLinger(sec int) error }
	for _, tc := range []struct {
		name       string
		unread     bool // the peer sent data the closer never read
		linger0    bool
		queued     int64 // bytes the closer wrote just before Close
		wantReset  bool
		wantQueued bool // the peer reads the queued bytes before EOF
	}{
		{name: "graceful", queued: 0},
		{name: "graceful-with-queued-data", queued: 1 << 20, wantQueued: true},
		{name: "unread-data", unread: true, wantReset: true},
		{name: "linger0", linger0: true, wantReset: true},
		{name: "linger0-with-queued-data", linger0: true, queued: 1 << 20, wantReset: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPair(t, opts{InBubble: true})
				ln := listenTCP(t, p.B, addrBPort(tcpPort))
				closer, peer := mustConnect(t, p.A, ln)
				if tc.unread {
					if _, err := peer.Write([]byte("never read")); err != nil {
						t.Fatal(err)
					}
					synctest.Wait() // it is in the closer's receive buffer
				}
				if tc.linger0 {
					l, ok := closer.(linger)
					if !ok {
						t.Fatalf("%T has no SetLinger", closer)
					}
					if err := l.SetLinger(0); err != nil {
						t.Fatalf("SetLinger(0): %v", err)
					}
				}
				if tc.queued > 0 {
					// More than the peer's window: some stays queued on
					// the closer when Close is called.
					peer.SetReadDeadline(time.Now().Add(time.Hour))
					written := make(chan error, 1)
					go func() {
						_, err := io.Copy(closer, body(3, tc.queued))
						written <- err
					}()
					if tc.wantQueued {
						// Graceful: the writer finishes into the buffer
						// once the peer reads; close right after.
						got := drain(peer)
						if err := <-written; err != nil {
							t.Fatalf("write: %v", err)
						}
						start := time.Now()
						if err := closer.Close(); err != nil {
							t.Fatalf("Close: %v", err)
						}
						if time.Since(start) != 0 {
							t.Errorf("Close blocked for %v", time.Since(start))
						}
						r := <-got
						if r.err != nil || r.n != tc.queued || r.sum != bodySum(3, tc.queued) {
							t.Fatalf("peer read %d bytes (sha256 %x), %v; want all %d then EOF", r.n, r.sum, r.err, tc.queued)
						}
						return
					}
					synctest.Wait() // the writer is blocked on a full window
					start := time.Now()
					if err := closer.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					if time.Since(start) != 0 {
						t.Errorf("Close blocked for %v", time.Since(start))
					}
					if err := <-written; !errors.Is(err, net.ErrClosed) {
						t.Errorf("Write blocked across Close: %v, want an error wrapping net.ErrClosed", err)
					}
				} else {
					start := time.Now()
					if err := closer.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					if time.Since(start) != 0 {
						t.Errorf("Close blocked for %v", time.Since(start))
					}
				}
				synctest.Wait() // FIN or RST has arrived

				// Read what is buffered until the stream ends.
				_, err := io.Copy(io.Discard, peer)
				if tc.wantReset {
					var oe *net.OpError
					if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &oe) {
						t.Fatalf("peer reading: %v, want a *net.OpError wrapping ECONNRESET", err)
					}
					// Writing to a reset conn fails too.
					if _, err := peer.Write([]byte("x")); err == nil {
						t.Errorf("Write to a reset conn succeeded")
					}
				} else if err != nil {
					t.Fatalf("peer reading: %v, want io.EOF", err)
				}
			})
		})
	}
}

// Close returns at once even when the peer's window is zero; the stack's
// own timers (zero-window probes, RFC 9293 §3.8.6.1) keep the connection
// alive until the peer reads again, then deliver the rest and the FIN.
func TestTCPCloseIntoZeroWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 300 << 10 // over one receive buffer, within two buffers
		p := newPair(t, opts{InBubble: true})
		ln := listenTCP(t, p.B, addrBPort(tcpPort))
		closer, peer := mustConnect(t, p.A, ln)
		if _, err := io.Copy(closer, body(5, size)); err != nil {
			t.Fatalf("write: %v", err)
		}
		synctest.Wait() // the peer's window is closed now
		start := time.Now()
		if err := closer.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("Close blocked for %v", time.Since(start))
		}
		// The peer's application is busy for ten minutes.
		time.Sleep(10 * time.Minute)
		got := drain(peer)
		r := <-got
		if r.err != nil || r.n != size || r.sum != bodySum(5, size) {
			t.Fatalf("peer read %d bytes (sha256 %x), %v; want all %d then EOF", r.n, r.sum, r.err, size)
		}
		t.Logf("closer A: %+v", p.A.Stats().TCP)
	})
}
