package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// frameN builds a distinguishable frame of the given size carrying n.
func frameN(n, size int) []byte {
	b := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(b, uint64(n))
	for i := 8; i < len(b); i++ {
		b[i] = byte(n + i)
	}
	return b
}

func TestPipeFramesIntactInOrderBothWays(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	sizes := []int{0, 1, 60, 1500, 9000, 65535}
	for _, tc := range []struct {
		name     string
		from, to *PipeEnd
	}{{"a->b", a, b}, {"b->a", b, a}} {
		t.Run(tc.name, func(t *testing.T) {
			var sent [][]byte
			for i, size := range sizes {
				f := make([]byte, size)
				for j := range f {
					f[j] = byte(i*31 + j)
				}
				sent = append(sent, f)
				n, err := tc.from.Write(f)
				if err != nil || n != size {
					t.Fatalf("Write(%d bytes) = %d, %v", size, n, err)
				}
				// The caller may reuse its buffer at once.
				for j := range f {
					f[j] ^= 0xff
				}
				for j := range f {
					f[j] ^= 0xff
				}
			}
			buf := make([]byte, 70000)
			for i, want := range sent {
				n, err := tc.to.Read(buf)
				if err != nil {
					t.Fatalf("Read #%d: %v", i, err)
				}
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("frame #%d: got %d bytes, want %d bytes %x...", i, n, len(want), want[:min(8, len(want))])
				}
			}
		})
	}
}

func TestPipeCallerReusesBuffer(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	p := []byte("first")
	a.Write(p)
	copy(p, "XXXXX")
	buf := make([]byte, 16)
	n, err := b.Read(buf)
	if err != nil || string(buf[:n]) != "first" {
		t.Fatalf("Read = %q, %v; want %q (Write must copy)", buf[:n], err, "first")
	}
}

func TestPipeConcurrentWritersKeepFramesWhole(t *testing.T) {
	const writers, perWriter, size = 8, 500, 300
	a, b := NewPipe(PipeConfig{QueueLen: writers * perWriter})
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			f := make([]byte, size)
			for i := range perWriter {
				// Every byte of a frame carries the same (writer, i) tag, so
				// an interleaved frame shows up as mixed bytes.
				tag := byte(w*perWriter + i)
				binary.BigEndian.PutUint16(f, uint16(w))
				binary.BigEndian.PutUint16(f[2:], uint16(i))
				for j := 4; j < size; j++ {
					f[j] = tag
				}
				if _, err := a.Write(f); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	next := make([]int, writers) // per writer, frames stay in order
	buf := make([]byte, 2*size)
	for range writers * perWriter {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != size {
			t.Fatalf("frame of %d bytes, want %d", n, size)
		}
		w, i := int(binary.BigEndian.Uint16(buf)), int(binary.BigEndian.Uint16(buf[2:]))
		if w >= writers || i != next[w] {
			t.Fatalf("frame (writer %d, #%d) out of order, want #%d", w, i, next[w])
		}
		next[w]++
		tag := byte(w*perWriter + i)
		for j := 4; j < size; j++ {
			if buf[j] != tag {
				t.Fatalf("frame (writer %d, #%d) mixed at byte %d", w, i, j)
			}
		}
	}
	wg.Wait()
	if d := a.Dropped(); d != 0 {
		t.Fatalf("Dropped = %d, want 0", d)
	}
}

func TestPipeFullQueueDropsWithoutBlocking(t *testing.T) {
	const qlen, extra = 4, 3
	a, b := NewPipe(PipeConfig{QueueLen: qlen})
	defer a.Close()
	defer b.Close()
	// Everything below runs in this goroutine: a blocking Write would hang
	// the test and the go test timeout would report it.
	for i := range qlen + extra {
		if n, err := a.Write(frameN(i, 20)); n != 20 || err != nil {
			t.Fatalf("Write #%d = %d, %v; want 20, nil", i, n, err)
		}
	}
	if got := a.Dropped(); got != extra {
		t.Fatalf("a.Dropped() = %d, want %d", got, extra)
	}
	if got := b.Dropped(); got != 0 {
		t.Fatalf("b.Dropped() = %d, want 0 (other direction)", got)
	}
	buf := make([]byte, 64)
	for i := range qlen {
		n, err := b.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], frameN(i, 20)) {
			t.Fatalf("Read #%d = %x, %v; want the first %d frames kept", i, buf[:n], err, qlen)
		}
	}
	// Room again after draining.
	a.Write(frameN(99, 20))
	if n, err := b.Read(buf); err != nil || !bytes.Equal(buf[:n], frameN(99, 20)) {
		t.Fatalf("Read after drain = %x, %v", buf[:n], err)
	}
}

func TestPipeCloseUnblocksRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		closeMe bool // close the reading end itself, else the peer
		want    error
	}{
		{"own close", true, net.ErrClosed},
		{"peer close", false, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Pipe()
			defer a.Close()
			defer b.Close()
			started := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				close(started)
				_, err := b.Read(make([]byte, 10))
				done <- err
			}()
			<-started
			if tc.closeMe {
				b.Close()
			} else {
				a.Close()
			}
			if err := <-done; !errors.Is(err, tc.want) {
				t.Fatalf("blocked Read returned %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPipePeerCloseEOFAfterDrain(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	for i := range 3 {
		a.Write(frameN(i, 10))
	}
	a.Close()
	buf := make([]byte, 10)
	for i := range 3 {
		n, err := b.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], frameN(i, 10)) {
			t.Fatalf("Read #%d after peer close = %x, %v; want queued frame", i, buf[:n], err)
		}
	}
	for range 2 {
		if _, err := b.Read(buf); err != io.EOF {
			t.Fatalf("Read after drain = %v, want io.EOF", err)
		}
	}
	if _, err := b.Write([]byte{1}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write to closed peer = %v, want io.ErrClosedPipe", err)
	}
}

func TestPipeUseAfterClose(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	b.Write([]byte("queued"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil (idempotent)", err)
	}
	if _, err := a.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v, want net.ErrClosed", err)
	}
	if _, err := a.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

func TestPipeShortBuffer(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	a.Write([]byte("0123456789"))
	a.Write([]byte("next"))
	buf := make([]byte, 4)
	n, err := b.Read(buf)
	if !errors.Is(err, io.ErrShortBuffer) || string(buf[:n]) != "0123" {
		t.Fatalf("short Read = %q, %v; want %q, io.ErrShortBuffer", buf[:n], err, "0123")
	}
	// The truncated frame was consumed.
	n, err = b.Read(buf)
	if err != nil || string(buf[:n]) != "next" {
		t.Fatalf("Read after short = %q, %v; want %q", buf[:n], err, "next")
	}
}

func TestPipeZeroLengthFrame(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	a.Write(nil)
	a.Write([]byte{7})
	n, err := b.Read(make([]byte, 4))
	if n != 0 || err != nil {
		t.Fatalf("Read of empty frame = %d, %v; want 0, nil", n, err)
	}
	buf := make([]byte, 4)
	if n, err := b.Read(buf); n != 1 || err != nil || buf[0] != 7 {
		t.Fatalf("Read after empty frame = %x, %v", buf[:n], err)
	}
}

func TestPipeAllocsSteadyState(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	f := make([]byte, 1500)
	buf := make([]byte, 2048)
	a.Write(f)
	b.Read(buf)
	allocs := testing.AllocsPerRun(100, func() {
		a.Write(f)
		b.Read(buf)
	})
	if allocs != 0 {
		t.Fatalf("Write+Read allocates %v times per frame after warm-up, want 0", allocs)
	}
}

func BenchmarkPipe(b *testing.B) {
	for _, size := range []int{64, 1500} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			x, y := Pipe()
			defer x.Close()
			defer y.Close()
			f := make([]byte, size)
			buf := make([]byte, 2048)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				x.Write(f)
				y.Read(buf)
			}
		})
	}
}

func BenchmarkPipeConcurrent(b *testing.B) {
	x, y := Pipe()
	defer x.Close()
	defer y.Close()
	f := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(1500)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, err := y.Read(buf); err != nil {
				return
			}
		}
	}()
	for b.Loop() {
		x.Write(f)
	}
	x.Close()
	<-done
}
