package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/bits"
	"net"
	"reflect"
	"testing"
	"testing/synctest"
	"time"
)

// bigPipe returns a pipe whose queues never drop in these tests.
func bigPipe() (a, b *PipeEnd) { return NewPipe(PipeConfig{QueueLen: 1 << 16}) }

// readFrames reads n frames from e.
func readFrames(t *testing.T, e io.Reader, n int) [][]byte {
	t.Helper()
	out := make([][]byte, 0, n)
	buf := make([]byte, 70000)
	for i := range n {
		m, err := e.Read(buf)
		if err != nil {
			t.Fatalf("Read #%d of %d: %v", i, n, err)
		}
		out = append(out, append([]byte(nil), buf[:m]...))
	}
	return out
}

// expectDrained closes the writing side and checks nothing else was queued.
func expectDrained(t *testing.T, f *Faulty, peer *PipeEnd) {
	t.Helper()
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n, err := peer.Read(make([]byte, 70000)); err != io.EOF {
		t.Fatalf("extra frame of %d bytes (err %v); want io.EOF", n, err)
	}
}

func index(f []byte) int { return int(binary.BigEndian.Uint64(f)) }

// withinBinomial reports whether k successes of n trials at probability p
// lie within 5 standard deviations of the mean (false alarm odds ~1e-6).
func withinBinomial(k uint64, n int, p float64) bool {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(k)-mean) <= 5*sd
}

func TestFaultyLoss(t *testing.T) {
	const seed, n, loss = 1, 10000, 0.2
	t.Logf("seed %d", seed)
	a, b := bigPipe()
	defer b.Close()
	f := NewFaulty(a, FaultConfig{Seed: seed, Loss: loss})
	for i := range n {
		if m, err := f.Write(frameN(i, 64)); m != 64 || err != nil {
			t.Fatalf("Write #%d = %d, %v; a lost frame still reports success", i, m, err)
		}
	}
	st := f.Stats()
	if st.Written != n || st.Delivered != n-st.Dropped {
		t.Fatalf("stats %+v: want Written %d, Delivered = Written - Dropped", st, n)
	}
	if !withinBinomial(st.Dropped, n, loss) {
		t.Fatalf("Dropped %d of %d at p=%v: outside the binomial bound", st.Dropped, n, loss)
	}
	got := readFrames(t, b, int(st.Delivered))
	prev := -1
	for _, fr := range got {
		i := index(fr)
		if i <= prev || i >= n {
			t.Fatalf("frame #%d after #%d: delivered frames must be the kept ones, in order", i, prev)
		}
		if !bytes.Equal(fr, frameN(i, 64)) {
			t.Fatalf("frame #%d damaged", i)
		}
		prev = i
	}
	expectDrained(t, f, b)
}

func TestFaultyDuplicate(t *testing.T) {
	const seed, n, dup = 2, 5000, 0.3
	t.Logf("seed %d", seed)
	a, b := bigPipe()
	defer b.Close()
	f := NewFaulty(a, FaultConfig{Seed: seed, Duplicate: dup})
	for i := range n {
		f.Write(frameN(i, 40))
	}
	st := f.Stats()
	if !withinBinomial(st.Duplicated, n, dup) || st.Delivered != n+st.Duplicated {
		t.Fatalf("stats %+v: want Duplicated ~%v of %d and Delivered = Written + Duplicated", st, dup, n)
	}
	got := readFrames(t, b, int(st.Delivered))
	seen := uint64(0)
	next := 0
	for k := 0; k < len(got); k++ {
		if index(got[k]) != next || !bytes.Equal(got[k], frameN(next, 40)) {
			t.Fatalf("position %d: frame #%d, want #%d", k, index(got[k]), next)
		}
		if k+1 < len(got) && bytes.Equal(got[k+1], got[k]) {
			seen++
			k++
		}
		next++
	}
	if next != n || seen != st.Duplicated {
		t.Fatalf("saw %d frames, %d duplicated back to back; want %d, %d", next, seen, n, st.Duplicated)
	}
	expectDrained(t, f, b)
}

func TestFaultyReorder(t *testing.T) {
	// synctest: the 1 ms hold timer only fires when every goroutine is
	// blocked, so a slow machine cannot flush a held frame early.
	synctest.Test(t, func(t *testing.T) {
		const seed, n, reorder = 3, 5000, 0.25
		t.Logf("seed %d", seed)
		a, b := bigPipe()
		defer b.Close()
		f := NewFaulty(a, FaultConfig{Seed: seed, Reorder: reorder})
		for i := range n {
			f.Write(frameN(i, 40))
		}
		// Reading all n blocks on the last frame if it was held, until
		// its timer flushes it.
		got := readFrames(t, b, n)
		st := f.Stats()
		// A frame can be held only when its predecessor was not, so in the
		// long run a fraction r/(1+r) of the frames is held.
		if !withinBinomial(st.Reordered, n, reorder/(1+reorder)) {
			t.Fatalf("Reordered %d of %d at p=%v: implausible", st.Reordered, n, reorder)
		}
		seen := make([]bool, n)
		descents := uint64(0)
		for k, fr := range got {
			i := index(fr)
			if seen[i] || !bytes.Equal(fr, frameN(i, 40)) {
				t.Fatalf("frame #%d duplicated or damaged", i)
			}
			seen[i] = true
			if d := i - k; d < -1 || d > 1 {
				t.Fatalf("frame #%d at position %d: a held frame moves back by exactly one", i, k)
			}
			if k > 0 && i < index(got[k-1]) {
				descents++
			}
		}
		if st.Reordered == 0 || descents != st.Reordered || st.Delivered != n {
			t.Fatalf("%d swaps observed, stats %+v; want Reordered = swaps > 0, Delivered %d", descents, st, n)
		}
		expectDrained(t, f, b)
	})
}

func TestFaultyHeldFrameFlushedByTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := bigPipe()
		defer b.Close()
		f := NewFaulty(a, FaultConfig{Seed: 4, Reorder: 1})
		defer f.Close()
		start := time.Now()
		f.Write([]byte("alone"))
		got := readFrames(t, b, 1)
		if string(got[0]) != "alone" {
			t.Fatalf("got %q", got[0])
		}
		if waited := time.Since(start); waited != holdTimeout {
			t.Fatalf("held frame released after %v, want %v", waited, holdTimeout)
		}
		if st := f.Stats(); st.Reordered != 1 || st.Delivered != 1 {
			t.Fatalf("stats %+v, want Reordered 1, Delivered 1", st)
		}
	})
}

func TestFaultyCorrupt(t *testing.T) {
	const seed, n, corrupt = 5, 5000, 0.3
	t.Logf("seed %d", seed)
	a, b := bigPipe()
	defer b.Close()
	f := NewFaulty(a, FaultConfig{Seed: seed, Corrupt: corrupt})
	for i := range n {
		p := frameN(i, 50)
		f.Write(p)
		if !bytes.Equal(p, frameN(i, 50)) {
			t.Fatalf("Write #%d modified the caller's buffer", i)
		}
	}
	st := f.Stats()
	if !withinBinomial(st.Corrupted, n, corrupt) || st.Delivered != n {
		t.Fatalf("stats %+v: want Corrupted ~%v of %d, all delivered", st, corrupt, n)
	}
	got := readFrames(t, b, n)
	damaged := uint64(0)
	for i, fr := range got {
		want := frameN(i, 50)
		if len(fr) != len(want) {
			t.Fatalf("frame #%d: %d bytes, want %d", i, len(fr), len(want))
		}
		flipped := 0
		for j := range fr {
			flipped += bits.OnesCount8(fr[j] ^ want[j])
		}
		switch flipped {
		case 0:
		case 1:
			damaged++
		default:
			t.Fatalf("frame #%d has %d bits flipped, want at most 1", i, flipped)
		}
	}
	if damaged != st.Corrupted {
		t.Fatalf("%d frames damaged, Corrupted = %d", damaged, st.Corrupted)
	}
	expectDrained(t, f, b)
}

// faultyRun writes n frames through a Faulty with cfg and returns what the
// peer received and the stats.
func faultyRun(t *testing.T, cfg FaultConfig, n int) ([][]byte, FaultStats) {
	var got [][]byte
	var st FaultStats
	synctest.Test(t, func(t *testing.T) {
		a, b := bigPipe()
		defer b.Close()
		f := NewFaulty(a, cfg)
		for i := range n {
			f.Write(frameN(i, 30))
		}
		// Every frame that is not lost arrives once or twice, eventually.
		st = f.Stats()
		got = readFrames(t, b, int(st.Written-st.Dropped+st.Duplicated))
		st = f.Stats()
		expectDrained(t, f, b)
	})
	return got, st
}

func TestFaultyDeterministic(t *testing.T) {
	cfg := FaultConfig{Seed: 42, Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Corrupt: 0.1}
	t.Logf("seed %d", cfg.Seed)
	got1, st1 := faultyRun(t, cfg, 2000)
	got2, st2 := faultyRun(t, cfg, 2000)
	if st1 != st2 || !reflect.DeepEqual(got1, got2) {
		t.Fatalf("same seed, different outcomes: %+v vs %+v", st1, st2)
	}
	for _, c := range []uint64{st1.Dropped, st1.Duplicated, st1.Reordered, st1.Corrupted} {
		if c == 0 {
			t.Fatalf("stats %+v: every fault should have happened", st1)
		}
	}
	cfg.Seed = 43
	got3, st3 := faultyRun(t, cfg, 2000)
	if st1 == st3 && reflect.DeepEqual(got1, got3) {
		t.Fatalf("seeds 42 and 43 gave identical outcomes")
	}
}

func TestFaultyDelayPreservesOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 10 * time.Millisecond
		a, b := bigPipe()
		defer b.Close()
		f := NewFaulty(a, FaultConfig{Seed: 6, Delay: delay})
		start := time.Now()
		// Write in three bursts 3 ms apart; each frame must arrive exactly
		// delay after its write, in write order.
		sentAt := map[int]time.Duration{}
		i := 0
		for burst := range 3 {
			for range 4 {
				sentAt[i] = time.Duration(burst) * 3 * time.Millisecond
				f.Write(frameN(i, 20))
				i++
			}
			time.Sleep(3 * time.Millisecond) // advances the bubble's fake clock
		}
		buf := make([]byte, 100)
		for want := range i {
			n, err := b.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Since(start)
			if got := index(buf[:n]); got != want {
				t.Fatalf("frame #%d arrived in place of #%d", got, want)
			}
			if at != sentAt[want]+delay {
				t.Fatalf("frame #%d arrived at %v, want at %v", want, at, sentAt[want]+delay)
			}
		}
		if st := f.Stats(); st.Delivered != uint64(i) {
			t.Fatalf("stats %+v, want Delivered %d", st, i)
		}
		expectDrained(t, f, b)
	})
}

func TestFaultyDelayExactArrival(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay, jitter = 20 * time.Millisecond, 5 * time.Millisecond
		a, b := bigPipe()
		defer b.Close()
		f := NewFaulty(a, FaultConfig{Seed: 7, Delay: delay, Jitter: jitter})
		defer f.Close()
		for i := range 50 {
			start := time.Now()
			f.Write(frameN(i, 20))
			got := readFrames(t, b, 1)
			took := time.Since(start)
			if index(got[0]) != i || took < delay || took >= delay+jitter {
				t.Fatalf("frame #%d (got #%d) took %v, want [%v, %v)", i, index(got[0]), took, delay, delay+jitter)
			}
		}
	})
}

func TestFaultyRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 800-bit frames at 8000 bit/s: one frame every 100 ms.
		const frame, rate = 100, 8000
		a, b := bigPipe()
		defer b.Close()
		f := NewFaulty(a, FaultConfig{Seed: 8, RateBitsPerSec: rate, QueueLen: 3})
		start := time.Now()
		for i := range 5 {
			f.Write(frameN(i, frame))
		}
		if st := f.Stats(); st.Overflowed != 2 || st.Dropped != 2 {
			t.Fatalf("stats %+v, want 2 frames tail-dropped behind a queue of 3", st)
		}
		for i := range 3 {
			got := readFrames(t, b, 1)
			want := time.Duration(i+1) * 100 * time.Millisecond
			if index(got[0]) != i || time.Since(start) != want {
				t.Fatalf("frame #%d (got #%d) at %v, want at %v", i, index(got[0]), time.Since(start), want)
			}
		}
		expectDrained(t, f, b)
	})
}

func TestFaultyCloseStopsGoroutine(t *testing.T) {
	a, b := bigPipe()
	defer b.Close()
	f := NewFaulty(a, FaultConfig{Seed: 9, Delay: time.Hour})
	for i := range 10 {
		f.Write(frameN(i, 20))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.done:
	default:
		t.Fatal("delivery goroutine still running after Close returned")
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := f.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
	// The inner link is closed and the delayed frames were discarded.
	if _, err := b.Read(make([]byte, 10)); err != io.EOF {
		t.Fatalf("peer Read = %v, want io.EOF", err)
	}
}

func TestFaultyPassesErrorsAndReads(t *testing.T) {
	a, b := bigPipe()
	f := NewFaulty(a, FaultConfig{Seed: 10})
	defer f.Close()
	b.Write([]byte("from peer"))
	got := readFrames(t, f, 1)
	if string(got[0]) != "from peer" {
		t.Fatalf("Read through Faulty = %q", got[0])
	}
	b.Close()
	if _, err := f.Write([]byte{1}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write to closed peer = %v, want io.ErrClosedPipe", err)
	}
}

func TestFaultyInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		inner io.ReadWriteCloser
		cfg   FaultConfig
	}{
		{"nil inner", nil, FaultConfig{}},
		{"loss > 1", &PipeEnd{}, FaultConfig{Loss: 1.5}},
		{"negative duplicate", &PipeEnd{}, FaultConfig{Duplicate: -0.1}},
		{"NaN reorder", &PipeEnd{}, FaultConfig{Reorder: math.NaN()}},
		{"negative delay", &PipeEnd{}, FaultConfig{Delay: -time.Second}},
		{"negative rate", &PipeEnd{}, FaultConfig{RateBitsPerSec: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFaulty(tc.inner, tc.cfg)
			if _, err := f.Write([]byte{1}); err == nil {
				t.Fatal("Write with an invalid config succeeded")
			}
		})
	}
}

// FuzzFaulty checks the accounting of any mix of faults: every frame not
// lost arrives once or twice (faultyRun reads exactly that many and then
// expects EOF), intact or with exactly one bit flipped, in at most
// neighbour-swapped order.
func FuzzFaulty(f *testing.F) {
	f.Add(int64(1), uint8(0), uint8(0), uint8(0), uint8(0), uint16(10))
	f.Add(int64(7), uint8(50), uint8(50), uint8(50), uint8(50), uint16(300))
	f.Add(int64(-3), uint8(255), uint8(255), uint8(255), uint8(255), uint16(50))
	f.Fuzz(func(t *testing.T, seed int64, loss, dup, reorder, corrupt uint8, n uint16) {
		cfg := FaultConfig{
			Seed: seed, Loss: float64(loss) / 255, Duplicate: float64(dup) / 255,
			Reorder: float64(reorder) / 255, Corrupt: float64(corrupt) / 255,
		}
		frames := int(n % 1000)
		got, st := faultyRun(t, cfg, frames)
		if st.Written != uint64(frames) || st.Delivered != uint64(len(got)) {
			t.Fatalf("stats %+v for %d frames, %d received", st, frames, len(got))
		}
		flippedFrames := uint64(0)
		for k, fr := range got {
			i := index(fr) // the index itself may be corrupted: bound it first
			if len(fr) != 30 {
				t.Fatalf("frame at %d has %d bytes", k, len(fr))
			}
			want := frameN(i, 30)
			flipped := 0
			for j := range fr {
				flipped += bits.OnesCount8(fr[j] ^ want[j])
			}
			if flipped > 0 {
				flippedFrames++
			}
		}
		if flippedFrames > st.Corrupted*2 {
			t.Fatalf("%d damaged frames received, only %d corrupted (x2 for duplicates)", flippedFrames, st.Corrupted)
		}
	})
}

func TestFaultyDelayNotLimitedByQueueLen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Frames waiting out a delay are on the wire, not in a queue.
		a, b := bigPipe()
		defer b.Close()
		f := NewFaulty(a, FaultConfig{Seed: 11, Delay: time.Second, QueueLen: 4})
		for i := range 20 {
			f.Write(frameN(i, 20))
		}
		got := readFrames(t, b, 20)
		for i, fr := range got {
			if index(fr) != i {
				t.Fatalf("position %d holds frame #%d", i, index(fr))
			}
		}
		if st := f.Stats(); st.Dropped != 0 || st.Delivered != 20 {
			t.Fatalf("stats %+v, want nothing dropped", st)
		}
		expectDrained(t, f, b)
	})
}

func TestFaultyTimedModeReportsClosedLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := bigPipe()
		f := NewFaulty(a, FaultConfig{Seed: 12, Delay: time.Millisecond})
		defer f.Close()
		b.Close()
		if _, err := f.Write([]byte{1}); err != nil {
			t.Fatalf("first Write = %v; the frame is only queued", err)
		}
		time.Sleep(time.Millisecond) // fake clock: the frame falls due
		synctest.Wait()              // and the delivery goroutine tried it
		if _, err := f.Write([]byte{2}); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("Write after the delivery met a closed peer = %v, want io.ErrClosedPipe", err)
		}
		if st := f.Stats(); st.Delivered != 0 || st.Written != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func BenchmarkFaulty(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  FaultConfig
	}{
		{"clean", FaultConfig{Seed: 1}},
		{"loss+dup+corrupt", FaultConfig{Seed: 1, Loss: 0.01, Duplicate: 0.01, Corrupt: 0.01}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			x, y := Pipe()
			defer y.Close()
			f := NewFaulty(x, tc.cfg)
			defer f.Close()
			p := make([]byte, 1500)
			buf := make([]byte, 2048)
			b.ReportAllocs()
			b.SetBytes(1500)
			read := uint64(0)
			for b.Loop() {
				f.Write(p)
				// Read what arrived (0, 1 or 2 frames) so the pipe never fills.
				for d := f.Stats().Delivered; read < d; read++ {
					y.Read(buf)
				}
			}
		})
	}
}
