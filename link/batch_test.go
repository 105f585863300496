package link

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// readerOnly hides PipeEnd's batch methods, as a TAP device would lack them.
type readerOnly struct{ io.ReadWriteCloser }

// collectBatches calls readBatch until n frames arrived, copying each.
func collectBatches(t *testing.T, readBatch func(func([]byte)) error, n int) (frames [][]byte, calls int) {
	t.Helper()
	for len(frames) < n {
		if err := readBatch(func(f []byte) { frames = append(frames, bytes.Clone(f)) }); err != nil {
			t.Fatalf("ReadBatch after %d of %d frames: %v", len(frames), n, err)
		}
		calls++
	}
	return frames, calls
}

func TestFaultyReadBatchPassesThrough(t *testing.T) {
	for _, tt := range []struct {
		name      string
		wrap      func(*PipeEnd) io.ReadWriteCloser
		wantCalls int // ReadBatch calls to read the 5 frames
		pending   bool
	}{
		{"pipe", func(e *PipeEnd) io.ReadWriteCloser { return e }, 1, true},
		{"no batch", func(e *PipeEnd) io.ReadWriteCloser { return readerOnly{e} }, 5, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Pipe()
			defer b.Close()
			f := NewFaulty(tt.wrap(a), FaultConfig{Seed: 1, Loss: 1}) // loss applies to writes only
			defer f.Close()
			var want [][]byte
			for i := range 5 {
				fr := frameN(i, 60+i*300)
				want = append(want, fr)
				b.Write(fr)
			}
			if got := f.Pending(); tt.pending && got != 5 || !tt.pending && got != 0 {
				t.Fatalf("Pending = %d before reading (batch-capable inner: %v)", got, tt.pending)
			}
			got, calls := collectBatches(t, f.ReadBatch, 5)
			if calls != tt.wantCalls {
				t.Fatalf("%d ReadBatch calls, want %d", calls, tt.wantCalls)
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("frame %d: got %d bytes, want %d intact", i, len(got[i]), len(want[i]))
				}
			}
			// Reads are not impaired, writes still are.
			f.Write(frameN(9, 60))
			if s := f.Stats(); s.Dropped != 1 {
				t.Fatalf("Dropped = %d, want 1", s.Dropped)
			}
			b.Close()
			if err := f.ReadBatch(func([]byte) { t.Fatal("frame after the peer closed") }); err != io.EOF {
				t.Fatalf("ReadBatch after peer Close = %v, want io.EOF", err)
			}
		})
	}
}

func TestFaultyReadBatchTruncatesOversizeFrame(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	f := NewFaulty(readerOnly{a}, FaultConfig{})
	defer f.Close()
	big := frameN(1, fallbackFrameSize+100)
	b.Write(big)
	b.Write(frameN(2, 60))
	// The oversize frame reaches the stack truncated (its IPv4 length then
	// fails validation there) and reading goes on.
	got, _ := collectBatches(t, f.ReadBatch, 2)
	if len(got[0]) != fallbackFrameSize || !bytes.Equal(got[0], big[:fallbackFrameSize]) {
		t.Fatalf("oversize frame: got %d bytes, want its first %d", len(got[0]), fallbackFrameSize)
	}
	if !bytes.Equal(got[1], frameN(2, 60)) {
		t.Fatal("the frame after the oversize one was not delivered intact")
	}
}

func TestFaultyReadBatchAfterClose(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	f := NewFaulty(a, FaultConfig{})
	f.Close()
	if err := f.ReadBatch(func([]byte) {}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadBatch after Close = %v, want net.ErrClosed", err)
	}
	bad := NewFaulty(nil, FaultConfig{})
	if err := bad.ReadBatch(func([]byte) {}); err == nil || err.Error() != "link: NewFaulty: nil inner link" {
		t.Fatalf("ReadBatch without an inner link = %v, want the configuration error", err)
	}
}

func TestCaptureReadBatchRecordsEachFrame(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	var out bytes.Buffer
	c, err := NewCapture(a, &out, CaptureConfig{LinkType: LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{frameN(1, 60), frameN(2, 1514), frameN(3, 100)}
	for _, fr := range want {
		b.Write(fr)
	}
	if c.Pending() != 3 {
		t.Fatalf("Pending = %d, want 3", c.Pending())
	}
	got, _ := collectBatches(t, c.ReadBatch, 3)
	rec := parsePcap(t, out.Bytes()).records
	if len(rec) != 3 {
		t.Fatalf("%d records, want 3", len(rec))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) || !bytes.Equal(rec[i].data, want[i]) {
			t.Fatalf("frame %d: delivered or recorded differently from what was sent", i)
		}
	}
}
