package microtcp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp/link"
)

// Lifecycle (issue #7): Stack.Close under load, and many connections
// opened and closed leaving nothing behind.

// wallClock reads the real clock from inside a synctest bubble, where
// time.Now is virtual: a goroutine started outside the bubble answers on
// channels created outside it (which bubbled code may use without being
// durably blocked). It is for reporting figures only.
type wallClock struct {
	req  chan struct{}
	resp chan time.Time
}

func newWallClock(t *testing.T) *wallClock {
	w := &wallClock{req: make(chan struct{}), resp: make(chan time.Time)}
	go func() {
		for range w.req {
			w.resp <- time.Now()
		}
	}()
	t.Cleanup(func() { close(w.req) })
	return w
}

func (w *wallClock) now() time.Time {
	w.req <- struct{}{}
	return <-w.resp
}

// goroutineDump is every goroutine's stack, for a failure message.
func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestStackCloseUnderLoad: Stack.Close while 2,000 connections are busy.
// On each connection one end has a goroutine blocked in Read and one
// blocked in Write on a full window (its peer neither reads nor writes);
// which end alternates, so both stacks have both. A blocked Accept, a
// Dial to a host that does not answer ARP and one to a port whose full
// accept queue drops SYNs wait on the closing stack too.
//
// Close returns without waiting on any timer; every blocked call of the
// closed stack returns a *net.OpError wrapping net.ErrClosed (package
// net's "use of closed network connection": the socket is gone, not the
// connection), every blocked call of the peer stack one wrapping
// ECONNRESET (the RST Close sent); after closing the peer too the
// goroutine count is back at the baseline.
func TestStackCloseUnderLoad(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	wall := newWallClock(t)
	synctest.Test(t, func(t *testing.T) {
		baseline := runtime.NumGoroutine()
		// Small buffers fill at once; the pipe holds every RST of Close.
		cfg := Config{TCPSendBuffer: 4 << 10, TCPReceiveBuffer: 4 << 10}
		a, b := tunedPair(t, cfg, cfg, 4*n)
		ln, err := b.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		accepted := acceptAll(ln, 1)

		type result struct {
			onA bool // the blocked call was on the stack closed first
			op  string
			err error
		}
		const extra = 3 // the blocked Accept and two Dials
		results := make(chan result, 2*n+extra)
		busy := func(c net.Conn, onA bool) {
			go func() {
				_, err := c.Read(make([]byte, 1))
				results <- result{onA, "read", err}
			}()
			go func() {
				buf := make([]byte, 16<<10)
				for {
					if _, err := c.Write(buf); err != nil {
						results <- result{onA, "write", err}
						return
					}
				}
			}()
		}
		var conns []net.Conn
		for i := range n {
			c, err := a.Dial("tcp", "10.0.0.2:80")
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			s := <-accepted
			conns = append(conns, c, s)
			if i%2 == 0 {
				busy(c, true)
			} else {
				busy(s, false)
			}
		}
		idle, err := a.Listen("tcp", ":81")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := idle.Accept()
			results <- result{true, "accept", err}
		}()
		go func() {
			_, err := a.Dial("tcp", "10.0.0.99:80") // nobody answers ARP
			results <- result{true, "dial", err}
		}()
		// A port that drops SYNs: its accept queue is full.
		full, err := (&ListenConfig{Stack: b, Backlog: 1}).Listen(t.Context(), "tcp", ":82")
		if err != nil {
			t.Fatal(err)
		}
		first, err := a.Dial("tcp", "10.0.0.2:82")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := a.Dial("tcp", "10.0.0.2:82")
			results <- result{true, "dial", err}
		}()
		synctest.Wait()
		if st := a.Stats().TCP; st.Connections != uint64(n+extra) || st.BudgetInUse == 0 {
			t.Fatalf("before Close: %d connections, %d bytes buffered; want %d and full windows", st.Connections, st.BudgetInUse, n+extra)
		}
		if st := b.Stats().TCP; st.ListenOverflows == 0 {
			t.Fatal("the full listener dropped no SYN")
		}

		virtual, start := time.Now(), wall.now()
		if err := a.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		took := wall.now().Sub(start)
		if !time.Now().Equal(virtual) {
			t.Fatalf("Close waited %v on timers", time.Since(virtual))
		}
		if took > 5*time.Second {
			t.Fatalf("Close took %v", took)
		}
		closedErrs, resets := 0, 0
		for range 2*n + extra {
			r := <-results
			var oe *net.OpError
			if !errors.As(r.err, &oe) || oe.Op != r.op {
				t.Fatalf("%s: %v (%T), want a *net.OpError with Op %q", r.op, r.err, r.err, r.op)
			}
			switch {
			case r.onA && errors.Is(r.err, net.ErrClosed):
				closedErrs++
			case !r.onA && errors.Is(r.err, syscall.ECONNRESET):
				resets++
			default:
				t.Fatalf("%s on the %s stack: %v", r.op, map[bool]string{true: "closed", false: "peer"}[r.onA], r.err)
			}
		}
		t.Logf("Stack.Close with %d busy connections (%d goroutines blocked) took %v; %d calls got net.ErrClosed, %d ECONNRESET",
			n, 2*n+extra, took, closedErrs, resets)

		for _, c := range conns {
			c.Close()
		}
		first.Close()
		full.Close()
		ln.Close()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := runtime.NumGoroutine(); got > baseline {
			t.Fatalf("%d goroutines after closing everything, baseline %d:\n%s", got, baseline, goroutineDump())
		}
	})
}

// TestConnectionChurn: 10,000 connections opened, used (a few bytes each
// way) and closed, in concurrent batches, with 2 MSL of virtual time after
// each batch so TIME-WAIT expires. Afterwards both stacks hold no
// connection and no buffer memory, the goroutine count is at its baseline,
// the live heap has not grown with the connections, and once the stacks
// are closed it is back within a small margin of what it was before them.
func TestConnectionChurn(t *testing.T) {
	total, batch := 10_000, 500
	if testing.Short() {
		total = 2000
	}
	synctest.Test(t, func(t *testing.T) {
		goroutines := runtime.NumGoroutine()
		// A first round on stacks of their own pays the one-time costs:
		// the runtime keeps the descriptors of its peak of goroutines for
		// reuse, and packages initialise tables on first use.
		cold := liveHeap()
		churn(t, batch, batch)
		synctest.Wait()
		fresh := liveHeap()
		during := churn(t, total, batch)
		synctest.Wait()
		after := liveHeap()
		t.Logf("%d connections: live heap %d before the stacks (%d before the warm-up round), %d after closing them (%+d bytes); %s",
			total, fresh, cold, after, int64(after)-int64(fresh), during)
		// The count is process-wide: a goroutine of an earlier test may
		// have ended meanwhile, never one more may be alive.
		if got := runtime.NumGoroutine(); got > goroutines {
			t.Fatalf("%d goroutines after closing the stacks, baseline %d:\n%s", got, goroutines, goroutineDump())
		}
		// Noise is tens of KiB; 26 bytes kept per connection would show.
		if grew := int64(after) - int64(fresh); grew > 256<<10 {
			t.Fatalf("live heap %d bytes above the baseline after closing the stacks", grew)
		}
	})
}

// churn runs TestConnectionChurn's connections between two stacks of its
// own, checks what the stacks hold afterwards and closes them, leaving
// nothing that refers to them. It returns its heap figures.
func churn(t *testing.T, total, batch int) string {
	const msl = 5 * time.Second
	la, lb := link.NewPipe(link.PipeConfig{QueueLen: 4 * batch})
	a, err := NewStack(la, Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), MSL: msl})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewStack(lb, Config{Addr: netip.MustParsePrefix("10.0.0.2/24"), MSL: msl})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ln, err := b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 5)
				_, err := io.ReadFull(c, buf)
				if err != nil || string(buf) != "hello" {
					return
				}
				c.Write([]byte("world"))
				// Until the client's FIN (not io.Copy to io.Discard,
				// whose pooled buffers would count as live heap).
				for err == nil {
					_, err = c.Read(buf)
				}
			}()
		}
	}()
	synctest.Wait()
	baseline := runtime.NumGoroutine()

	var afterFirst uint64
	errs := make(chan error, batch)
	for done := 0; done < total; done += batch {
		// Every connection of a batch is open at once before any closes:
		// each batch has the same peak of goroutines, whose descriptors
		// the runtime keeps for reuse.
		release := make(chan struct{})
		for range batch {
			go func() {
				c, err := a.Dial("tcp", "10.0.0.2:80")
				if err != nil {
					errs <- err
					return
				}
				defer func() {
					<-release
					c.Close()
				}()
				if _, err := c.Write([]byte("hello")); err != nil {
					errs <- err
					return
				}
				buf := make([]byte, 5)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "world" {
					errs <- errors.Join(err, errors.New("bad reply "+string(buf)))
					return
				}
				errs <- nil
			}()
		}
		for range batch {
			if err := <-errs; err != nil {
				t.Fatalf("after %d connections: %v", done, err)
			}
		}
		close(release)
		time.Sleep(2*msl + time.Second) // virtual: TIME-WAIT expires
		synctest.Wait()
		if done == 0 {
			afterFirst = liveHeap()
		}
	}
	sa, sb := a.Stats().TCP, b.Stats().TCP
	after := liveHeap()
	if sa.Connections != 0 || sb.Connections != 0 || sa.ConnectionsOpened != uint64(total) || sb.ConnectionsOpened != uint64(total) {
		t.Fatalf("connections held %d and %d, opened %d and %d; want 0, 0, %d, %d",
			sa.Connections, sb.Connections, sa.ConnectionsOpened, sb.ConnectionsOpened, total, total)
	}
	if sa.BudgetInUse != 0 || sb.BudgetInUse != 0 {
		t.Fatalf("buffer memory still in use: %d and %d bytes", sa.BudgetInUse, sb.BudgetInUse)
	}
	if got := runtime.NumGoroutine(); got > baseline {
		t.Fatalf("%d goroutines after the churn, baseline %d:\n%s", got, baseline, goroutineDump())
	}
	// While the stacks live their frame pools (core/stack keeps up to
	// 1.5 MiB per stack, the pipe 64 frames per direction) fill at their
	// own pace, hence the margin; a leaked TCB per connection (over a
	// KiB each) would exceed it several times over.
	if grew := int64(after) - int64(afterFirst); grew > 4<<20 {
		t.Fatalf("live heap grew %d bytes from the first batch to the last", grew)
	}
	return fmt.Sprintf("with the stacks open: %d after the first batch, %d after the last (%+d bytes)",
		afterFirst, after, int64(after)-int64(afterFirst))
}

// liveHeap is the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
