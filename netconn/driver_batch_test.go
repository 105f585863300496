package netconn

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/core/wire"
	"github.com/microtcp/microtcp/link"
)

// plainLink hides the batch methods of a link.PipeEnd, so the driver takes
// the Read/Write path of links such as TAP.
type plainLink struct{ e *link.PipeEnd }

func (l plainLink) Read(p []byte) (int, error)  { return l.e.Read(p) }
func (l plainLink) Write(p []byte) (int, error) { return l.e.Write(p) }
func (l plainLink) Close() error                { return l.e.Close() }

// streamPair connects 10.0.0.1 and 10.0.0.2 over la and lb (MTU mtu) and
// returns a TCP connection from the first to the second.
func streamPair(tb testing.TB, la, lb io.ReadWriteCloser, mtu int) (da, db *Driver, client, server *TCPConn) {
	tb.Helper()
	host := func(l io.ReadWriteCloser, n byte) *Driver {
		st, err := stack.New(stack.Config{
			Addr:   netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, n}), 24),
			MAC:    wire.MAC{0x02, 0, 0, 0, 0, n},
			MTU:    mtu,
			Secret: [16]byte{n, 1, 2, 3},
		}, time.Now())
		if err != nil {
			tb.Fatalf("stack.New: %v", err)
		}
		d := NewDriver(l, st)
		tb.Cleanup(func() { d.Close() })
		return d
	}
	da, db = host(la, 1), host(lb, 2)
	ln, err := ListenTCP(db, "tcp", ap("10.0.0.2:80"), 0, net.KeepAliveConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan *TCPConn, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			tb.Error(err)
		}
		acc <- c
	}()
	client, err = DialTCP(context.Background(), da, "tcp", ap("10.0.0.1:0"), ap("10.0.0.2:80"), net.KeepAliveConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	server = <-acc
	if server == nil {
		tb.FailNow()
	}
	tb.Cleanup(func() { client.Close(); server.Close() })
	return da, db, client, server
}

// streamPattern is the byte at stream offset i, repeating every 251 bytes
// so that a window of it is a subslice of patternBuf.
func streamPattern(n int) []byte {
	b := make([]byte, n+251)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// pump writes total bytes of the stream pattern on c in writes of chunk
// bytes and returns the error that stopped it.
func pump(c net.Conn, total, chunk int) error {
	pat := streamPattern(chunk)
	for sent := 0; sent < total; {
		n := min(chunk, total-sent)
		if _, err := c.Write(pat[sent%251 : sent%251+n]); err != nil {
			return err
		}
		sent += n
	}
	return nil
}

// drain reads total bytes from c, checking each against the pattern.
func drain(c net.Conn, total int) (got int, intact bool, err error) {
	buf := make([]byte, 64<<10)
	pat := streamPattern(len(buf))
	for got < total {
		n, err := c.Read(buf[:min(len(buf), total-got)])
		if !bytes.Equal(buf[:n], pat[got%251:got%251+n]) {
			return got, false, nil
		}
		got += n
		if err != nil {
			return got, true, err
		}
	}
	return got, true, nil
}

// TestDriverStreamIntact moves a stream through two drivers on a pipe with
// the batch path (ReadBatch, WriteBatch, frames recycled) and without it,
// at both MTUs the bench measures, and checks every byte.
func TestDriverStreamIntact(t *testing.T) {
	total := 8 << 20
	if testing.Short() {
		total = 1 << 20
	}
	for _, tc := range []struct {
		name  string
		batch bool
		mtu   int
	}{
		{"batch mtu1500", true, 1500},
		{"batch mtu65520", true, 65520},
		{"plain mtu1500", false, 1500},
		{"plain mtu65520", false, 65520},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pa, pb := link.Pipe()
			var la, lb io.ReadWriteCloser = pa, pb
			if !tc.batch {
				la, lb = plainLink{pa}, plainLink{pb}
			}
			da, db, client, server := streamPair(t, la, lb, tc.mtu)
			if (da.br != nil) != tc.batch || (db.bw != nil) != tc.batch {
				t.Fatalf("batch interfaces detected: %v %v, want %v", da.br != nil, db.bw != nil, tc.batch)
			}
			errc := make(chan error, 1)
			go func() { errc <- pump(client, total, 64<<10) }()
			got, intact, err := drain(server, total)
			if !intact || err != nil || got != total {
				t.Fatalf("read %d of %d bytes, intact %v, err %v", got, total, intact, err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("write: %v", err)
			}
			for _, d := range []*Driver{da, db} {
				if ls := d.LinkStats(); ls.WriteErrors != 0 {
					t.Errorf("link stats %+v", ls)
				}
			}
		})
	}
}

// BenchmarkDriverTCPSegments streams through two drivers on a link.Pipe (the
// batch path). One op is one full-sized segment of payload (1460 bytes at
// MTU 1500), written in 64 KiB writes; allocs/op is allocations per segment
// in the whole process, both stacks and goroutines included.
func BenchmarkDriverTCPSegments(b *testing.B) {
	for _, mtu := range []int{1500, 65520} {
		b.Run("mtu"+strconv.Itoa(mtu), func(b *testing.B) {
			pa, pb := link.Pipe()
			_, _, client, server := streamPair(b, pa, pb, mtu)
			mss := mtu - 40
			// Warm up: buffers, free lists and windows reach their steady
			// size before counting.
			warm := 16 << 20
			errc := make(chan error, 1)
			go func() { errc <- pump(client, warm, 64<<10) }()
			if got, intact, err := drain(server, warm); !intact || err != nil {
				b.Fatalf("warm-up: %d bytes, intact %v, %v", got, intact, err)
			}
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(mss))
			b.ResetTimer()
			total := b.N * mss
			go func() { errc <- pump(client, total, 64<<10) }()
			got, intact, err := drain(server, total)
			b.StopTimer()
			if !intact || err != nil || got != total {
				b.Fatalf("read %d of %d, intact %v, %v", got, total, intact, err)
			}
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestDriverPollWaitsForPendingFrames: when the protocol timer fires while
// inbound frames wait for the reader, the timers run after those frames
// (whose ACKs may cancel them), at the end of the reader's batch.
func TestDriverPollWaitsForPendingFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pa, pb := link.Pipe()
		defer pb.Close()
		d := newHost(t, pa, 1)
		synctest.Wait() // the reader waits in ReadBatch

		d.mu.Lock()
		if d.deferPollLocked() {
			t.Fatal("poll deferred with nothing pending")
		}
		// A frame arrives while the timer's callback holds the lock.
		frame := make([]byte, 60)
		frame[0] = 0x02 // unicast to a MAC that is not ours: counted, dropped
		if _, err := pb.Write(frame); err != nil {
			t.Fatal(err)
		}
		if !d.deferPollLocked() || !d.pollDue {
			t.Fatal("poll not deferred with a frame pending")
		}
		d.mu.Unlock()

		synctest.Wait() // the reader took the frame, ran Poll, waits again
		var in uint64
		d.View(func(st *stack.Stack) { in = st.Stats().Link.FramesIn })
		if in != 1 {
			t.Fatalf("frames in %d, want 1", in)
		}
		d.mu.Lock()
		due := d.pollDue
		d.mu.Unlock()
		if due {
			t.Fatal("the reader did not run the deferred Poll")
		}
	})
}
