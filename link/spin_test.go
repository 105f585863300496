package link

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"testing/synctest"
)

// TestSpinBoundedByIterations: where the clock stands still (synctest), a
// poll still ends, after exactly spinIters turns, and stays ended.
func TestSpinBoundedByIterations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s spin
		turns := 0
		for s.again() {
			turns++
			if turns > spinIters {
				t.Fatalf("still polling after %d turns", turns)
			}
		}
		if turns != spinIters {
			t.Fatalf("polled %d turns, want %d", turns, spinIters)
		}
		if s.again() {
			t.Fatal("a spent poll started again")
		}
	})
}

// TestSpinBoundedByClock: on the wall clock a poll ends too, within
// spinIters turns (usually far fewer: spinTime runs out first).
func TestSpinBoundedByClock(t *testing.T) {
	var s spin
	turns := 0
	for s.again() {
		turns++
	}
	if turns > spinIters {
		t.Fatalf("polled %d turns, want at most %d", turns, spinIters)
	}
}

// TestPipePingPongWhilePolling: frames bounced back and forth one at a
// time, so that each reader finds its queue empty and polls before nearly
// every frame, all come back intact and in order, through ReadBatch on one
// side and Read on the other.
func TestPipePingPongWhilePolling(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	echoDone := make(chan error, 1)
	go func() {
		var werr error
		for {
			err := b.ReadBatch(func(f []byte) {
				if _, err := b.Write(f); err != nil && werr == nil {
					werr = err
				}
			})
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = werr
				}
				echoDone <- err
				return
			}
		}
	}()
	buf := make([]byte, 4096)
	const rounds = 3000
	for i := range rounds {
		want := frameN(i, 60+i*131%1500)
		if _, err := a.Write(want); err != nil {
			t.Fatalf("round %d: Write: %v", i, err)
		}
		n, err := a.Read(buf)
		if err != nil {
			t.Fatalf("round %d: Read: %v", i, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("round %d: got %d bytes starting % x, want %d bytes", i, n, buf[:min(n, 8)], len(want))
		}
	}
	a.Close()
	if err := <-echoDone; err != nil {
		t.Fatalf("echo: %v", err)
	}
}

// TestPipeStreamWhilePolling: a writer that yields between frames keeps
// the reader alternating between polling and taking frames; every frame
// arrives whole and in order.
func TestPipeStreamWhilePolling(t *testing.T) {
	const total = 5000
	// Room for every frame: a writer that outruns the reader must not
	// lose frames to a full queue here.
	a, b := NewPipe(PipeConfig{QueueLen: total})
	defer b.Close()
	go func() {
		for i := range total {
			a.Write(frameN(i, 60+i%700))
			if i%3 == 0 {
				runtime.Gosched()
			}
		}
		a.Close()
	}()
	next := 0
	for {
		err := b.ReadBatch(func(f []byte) {
			if want := frameN(next, 60+next%700); !bytes.Equal(f, want) {
				t.Errorf("frame %d: got %d bytes starting % x, want %d bytes", next, len(f), f[:min(len(f), 8)], len(want))
			}
			next++
		})
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("ReadBatch after %d frames: %v", next, err)
		}
	}
	if next != total {
		t.Fatalf("got %d frames, want %d", next, total)
	}
}

// waitingReaders are the two blocking reads of a PipeEnd, for tests that
// close a pipe under them.
var waitingReaders = []struct {
	name string
	read func(e *PipeEnd) error
}{
	{"Read", func(e *PipeEnd) error {
		_, err := e.Read(make([]byte, 64))
		return err
	}},
	{"ReadBatch", func(e *PipeEnd) error {
		return e.ReadBatch(func([]byte) {})
	}},
}

// TestPipeCloseWhilePolling: Close of either end, right after a reader
// started waiting (so it is most likely still polling), ends the wait with
// the documented error: net.ErrClosed for this end, io.EOF for the peer.
func TestPipeCloseWhilePolling(t *testing.T) {
	for _, r := range waitingReaders {
		for _, closeOwn := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/closeOwn=%v", r.name, closeOwn), func(t *testing.T) {
				want := io.EOF
				if closeOwn {
					want = net.ErrClosed
				}
				for i := range 200 {
					a, b := Pipe()
					got := make(chan error, 1)
					go func() { got <- r.read(b) }()
					if i%2 == 1 {
						runtime.Gosched() // let the reader start polling
					}
					if closeOwn {
						b.Close()
					} else {
						a.Close()
					}
					if err := <-got; !errors.Is(err, want) {
						t.Fatalf("iteration %d: got %v, want %v", i, err, want)
					}
					a.Close()
					b.Close()
				}
			})
		}
	}
}

// TestPipeReaderParksAfterPolling: a reader that polled in vain parks
// (synctest.Wait returns only once every goroutine of the bubble is
// durably blocked, and a polling one is not), and a frame or a Close still
// wakes it.
func TestPipeReaderParksAfterPolling(t *testing.T) {
	for _, r := range waitingReaders {
		t.Run(r.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := Pipe()
				defer a.Close()
				got := make(chan []byte, 1)
				errc := make(chan error, 1)
				go func() {
					buf := make([]byte, 4096)
					for {
						var err error
						if r.name == "Read" {
							var n int
							n, err = b.Read(buf)
							if err == nil {
								got <- bytes.Clone(buf[:n])
							}
						} else {
							err = b.ReadBatch(func(f []byte) { got <- bytes.Clone(f) })
						}
						if err != nil {
							errc <- err
							return
						}
					}
				}()
				for i := range 20 {
					synctest.Wait() // the reader has polled and parked
					want := frameN(i, 100+i)
					a.Write(want)
					if f := <-got; !bytes.Equal(f, want) {
						t.Fatalf("frame %d: got % x, want % x", i, f[:8], want[:8])
					}
				}
				synctest.Wait()
				b.Close()
				if err := <-errc; !errors.Is(err, net.ErrClosed) {
					t.Fatalf("after Close: %v, want net.ErrClosed", err)
				}
			})
		})
	}
}
