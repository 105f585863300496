package link

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPipeRoom: Room is the queue's free slots toward the peer; writes use
// them up, reads give them back, and a write drops only when it is zero.
func TestPipeRoom(t *testing.T) {
	a, b := NewPipe(PipeConfig{QueueLen: 8})
	if got := a.Room(); got != 8 {
		t.Fatalf("Room of a fresh pipe = %d, want 8", got)
	}
	for i := range 8 {
		if _, err := a.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if got, want := a.Room(), 7-i; got != want {
			t.Fatalf("after %d writes Room = %d, want %d", i+1, got, want)
		}
	}
	if got := b.Room(); got != 8 {
		t.Fatalf("the other direction's Room = %d, want 8", got)
	}
	if a.Dropped() != 0 {
		t.Fatalf("dropped %d frames while Room was positive", a.Dropped())
	}
	a.Write([]byte{9})
	if a.Dropped() != 1 {
		t.Fatalf("Dropped = %d after writing to a full queue, want 1", a.Dropped())
	}
	buf := make([]byte, 16)
	if _, err := b.Read(buf); err != nil {
		t.Fatal(err)
	}
	if got := a.Room(); got != 1 {
		t.Fatalf("after one read Room = %d, want 1", got)
	}
	if err := b.ReadBatch(func([]byte) {}); err != nil {
		t.Fatal(err)
	}
	if got := a.Room(); got != 8 {
		t.Fatalf("after a batch read Room = %d, want 8", got)
	}
}

// TestPipeWaitRoom: WaitRoom arms the notification only when less than a
// quarter of the queue is free, and the notification comes once, when a
// reader (Read or ReadBatch) has drained the queue to a quarter free.
func TestPipeWaitRoom(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Read", true: "ReadBatch"}[batch], func(t *testing.T) {
			const qlen = 16 // resume mark: 4 free
			a, b := NewPipe(PipeConfig{QueueLen: qlen})
			var calls atomic.Int32
			a.NotifyRoom(func() { calls.Add(1) })
			fill := func(n int) {
				for range n {
					a.Write([]byte{1})
				}
			}
			fill(12) // 4 free: not short
			if a.WaitRoom() {
				t.Fatal("WaitRoom with a quarter free reported it short")
			}
			fill(4) // full
			if !a.WaitRoom() {
				t.Fatal("WaitRoom on a full queue reported room")
			}
			read := func() {
				if batch {
					// A batch takes everything queued; take one frame
					// at a time through Read when not batching.
					b.ReadBatch(func([]byte) {})
					return
				}
				b.Read(make([]byte, 8))
			}
			if batch {
				read()
				if got := calls.Load(); got != 1 {
					t.Fatalf("%d notifications after draining the queue, want 1", got)
				}
			} else {
				for i := 1; i <= 3; i++ {
					read()
					if got := calls.Load(); got != 0 {
						t.Fatalf("notified with %d free, before the mark of 4", i)
					}
				}
				read()
				if got := calls.Load(); got != 1 {
					t.Fatalf("%d notifications at the mark, want 1", got)
				}
				read()
			}
			// Answered once: further drains do not notify again.
			fill(1)
			read()
			if got := calls.Load(); got != 1 {
				t.Fatalf("%d notifications after one WaitRoom, want 1", got)
			}
			if a.Dropped() != 0 {
				t.Fatalf("dropped %d", a.Dropped())
			}
		})
	}
}

// TestPipeWaitRoomClose: a writer waiting for room is told when either end
// closes, since its writes fail from then on instead.
func TestPipeWaitRoomClose(t *testing.T) {
	for _, closeReader := range []bool{true, false} {
		a, b := NewPipe(PipeConfig{QueueLen: 4})
		var calls atomic.Int32
		a.NotifyRoom(func() { calls.Add(1) })
		for range 4 {
			a.Write([]byte{1})
		}
		if !a.WaitRoom() {
			t.Fatal("WaitRoom on a full queue reported room")
		}
		if closeReader {
			b.Close()
		} else {
			a.Close()
		}
		if got := calls.Load(); got != 1 {
			t.Fatalf("closeReader=%v: %d notifications, want 1", closeReader, got)
		}
		if a.WaitRoom() {
			t.Fatalf("closeReader=%v: WaitRoom after close reported room short", closeReader)
		}
	}
}

// TestPipeRoomNoLostWakeup has writers that never write without room:
// with room they write, without it they call WaitRoom and sleep until the
// notification (or retry at once when WaitRoom found room after all),
// while a reader drains concurrently. A wake-up lost between the check
// and the drain would leave the writers asleep forever; a write beyond the
// room would show as a drop. Run it with -race.
func TestPipeRoomNoLostWakeup(t *testing.T) {
	const (
		qlen    = 8
		writers = 3
		frames  = 20000
	)
	for _, batch := range []bool{false, true} {
		a, b := NewPipe(PipeConfig{QueueLen: qlen})
		// The notification wakes every sleeping writer: it closes the
		// current generation's channel, which a writer took before
		// WaitRoom, so a notification after WaitRoom is never missed.
		var gmu sync.Mutex
		gen := make(chan struct{})
		a.NotifyRoom(func() {
			gmu.Lock()
			close(gen)
			gen = make(chan struct{})
			gmu.Unlock()
		})
		var wmu sync.Mutex // the room is per writer: writers take turns, like a driver's wmu
		var sent atomic.Int64
		var wg sync.WaitGroup
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					wmu.Lock()
					if sent.Load() >= frames {
						wmu.Unlock()
						return
					}
					if a.Room() > 0 {
						a.Write([]byte{byte(sent.Add(1))})
						wmu.Unlock()
						continue
					}
					gmu.Lock()
					woken := gen
					gmu.Unlock()
					short := a.WaitRoom()
					wmu.Unlock()
					if !short {
						continue
					}
					select {
					case <-woken:
					case <-time.After(10 * time.Second):
						t.Error("writer not woken within 10s: lost wake-up")
						return
					}
				}
			}()
		}
		go func() {
			wg.Wait()
			a.Close() // the reader reads what is queued, then io.EOF
		}()
		got := 0
		for {
			var err error
			if batch {
				err = b.ReadBatch(func([]byte) { got++ })
			} else {
				_, err = b.Read(make([]byte, 4))
				if err == nil {
					got++
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
		}
		if d := a.Dropped(); d != 0 {
			t.Fatalf("batch=%v: %d frames dropped though every write had room", batch, d)
		}
		if got != frames {
			t.Fatalf("batch=%v: read %d frames, want %d", batch, got, frames)
		}
	}
}
