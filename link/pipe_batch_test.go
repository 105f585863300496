package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// TestPipeBatchInOrder: frames written one by one and in batches come out
// of ReadBatch whole, in order, at most MaxReadBatch per call, mixed with
// plain Reads.
func TestPipeBatchInOrder(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	const total = 300
	var batch [][]byte
	for i := range total {
		f := frameN(i, 60+i*37%3000)
		if i%3 == 0 && len(batch) == 0 {
			if _, err := a.Write(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		batch = append(batch, f)
		if len(batch) == 7 || i == total-1 {
			if err := a.WriteBatch(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if n := b.Pending(); n != total {
		t.Fatalf("Pending = %d, want %d", n, total)
	}
	next := 0
	check := func(f []byte) {
		t.Helper()
		if want := frameN(next, 60+next*37%3000); !bytes.Equal(f, want) {
			t.Fatalf("frame %d: got %d bytes starting % x, want %d bytes", next, len(f), f[:min(len(f), 8)], len(want))
		}
		next++
	}
	buf := make([]byte, 4096)
	for round := 0; next < total; round++ {
		if round%4 == 3 {
			n, err := b.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			check(buf[:n])
			continue
		}
		calls := 0
		if err := b.ReadBatch(func(f []byte) { calls++; check(f) }); err != nil {
			t.Fatal(err)
		}
		if calls == 0 || calls > MaxReadBatch {
			t.Fatalf("ReadBatch called fn %d times, want 1..%d", calls, MaxReadBatch)
		}
	}
	if n := b.Pending(); n != 0 {
		t.Fatalf("Pending = %d after reading everything", n)
	}
}

// TestPipeBatchBorrowedBufferReused: the slice fn gets is the pipe's own
// buffer, reused for a later frame once fn returned (no copy out).
func TestPipeBatchBorrowedBufferReused(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	var first []byte
	a.Write(frameN(1, 100))
	b.ReadBatch(func(f []byte) { first = f })
	a.Write(frameN(2, 100))
	var second []byte
	b.ReadBatch(func(f []byte) { second = f })
	if &first[0] != &second[0] {
		t.Fatal("the second frame did not reuse the first frame's buffer")
	}
	if binary.BigEndian.Uint64(first) != 2 {
		t.Fatal("unexpected contents")
	}
}

// TestPipeBatchFnMayWrite: fn runs without the pipe's lock. Two readers
// that answer every frame from inside fn, toward each other, must not
// deadlock (the shape of two drivers on one pipe).
func TestPipeBatchFnMayWrite(t *testing.T) {
	a, b := NewPipe(PipeConfig{QueueLen: 16})
	const rounds = 2000
	var wg sync.WaitGroup
	echo := func(e *PipeEnd, count *int) {
		defer wg.Done()
		// The first to finish closes its end, which ends the other's
		// ReadBatch with io.EOF once it drained.
		defer e.Close()
		for *count < rounds {
			err := e.ReadBatch(func(f []byte) {
				*count++
				e.Write(f) // answer from inside fn
				e.WriteBatch([][]byte{f})
			})
			if err != nil {
				return
			}
		}
	}
	var na, nb int
	wg.Add(2)
	go echo(a, &na)
	go echo(b, &nb)
	a.Write(frameN(0, 64))
	wg.Wait()
	if max(na, nb) < rounds || min(na, nb) < rounds/2 {
		t.Fatalf("echoed %d and %d frames, want %d on one side and most of it on the other", na, nb, rounds)
	}
}

func TestPipeBatchErrors(t *testing.T) {
	t.Run("close unblocks", func(t *testing.T) {
		a, b := Pipe()
		defer a.Close()
		done := make(chan error)
		go func() { done <- b.ReadBatch(func([]byte) { t.Error("fn called") }) }()
		b.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadBatch after Close: %v, want net.ErrClosed", err)
		}
		if err := b.WriteBatch([][]byte{{1}}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteBatch after Close: %v, want net.ErrClosed", err)
		}
		if err := a.WriteBatch([][]byte{{1}}); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("WriteBatch after peer Close: %v, want io.ErrClosedPipe", err)
		}
	})
	t.Run("EOF after drain", func(t *testing.T) {
		a, b := Pipe()
		defer b.Close()
		a.WriteBatch([][]byte{frameN(1, 10), frameN(2, 10)})
		a.Close()
		got := 0
		if err := b.ReadBatch(func([]byte) { got++ }); err != nil || got != 2 {
			t.Fatalf("ReadBatch: %d frames, %v; want 2, nil", got, err)
		}
		if err := b.ReadBatch(func([]byte) { got++ }); !errors.Is(err, io.EOF) {
			t.Fatalf("ReadBatch after drain: %v, want io.EOF", err)
		}
	})
	t.Run("full queue drops", func(t *testing.T) {
		a, b := NewPipe(PipeConfig{QueueLen: 4})
		defer a.Close()
		defer b.Close()
		frames := [][]byte{frameN(0, 8), frameN(1, 8), frameN(2, 8), frameN(3, 8), frameN(4, 8), frameN(5, 8)}
		if err := a.WriteBatch(frames); err != nil {
			t.Fatal(err)
		}
		if d, p := a.Dropped(), b.Pending(); d != 2 || p != 4 {
			t.Fatalf("dropped %d pending %d, want 2 and 4", d, p)
		}
	})
}

func TestPipeBatchAllocsSteadyState(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	frames := [][]byte{frameN(1, 1514), frameN(2, 1514), frameN(3, 66)}
	fn := func([]byte) {}
	round := func() {
		a.WriteBatch(frames)
		b.ReadBatch(fn)
	}
	round()
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Fatalf("%v allocations per WriteBatch+ReadBatch, want 0", n)
	}
}

// BenchmarkPipeBatch moves batches of 16 1514-byte frames: one copy each.
func BenchmarkPipeBatch(b *testing.B) {
	x, y := Pipe()
	defer x.Close()
	defer y.Close()
	frames := make([][]byte, 16)
	for i := range frames {
		frames[i] = frameN(i, 1514)
	}
	var n int
	fn := func(f []byte) { n += len(f) }
	b.ReportAllocs()
	b.SetBytes(16 * 1514)
	for b.Loop() {
		x.WriteBatch(frames)
		for y.Pending() > 0 {
			y.ReadBatch(fn)
		}
	}
}

// TestPipeBatchBoundedBySize: large frames come in smaller batches, so a
// reader holding a lock through its batch does not hold it for megabytes.
func TestPipeBatchBoundedBySize(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	for i := range 20 {
		a.Write(frameN(i, 65535))
	}
	next := 0
	for next < 20 {
		calls := 0
		err := b.ReadBatch(func(f []byte) {
			if binary.BigEndian.Uint64(f) != uint64(next) || len(f) != 65535 {
				t.Fatalf("frame %d: wrong frame", next)
			}
			calls++
			next++
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls < 1 || calls*65535 > maxReadBatchBytes+65535 {
			t.Fatalf("a batch of %d 64 KiB frames, want at most %d KiB", calls, maxReadBatchBytes>>10+64)
		}
	}
}
