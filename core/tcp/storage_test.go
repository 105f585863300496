package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestStorageClass(t *testing.T) {
	for _, tc := range []struct{ n, class, size int }{
		{1, -1, ringChunk},
		{ringChunk - 1, -1, ringChunk},
		{ringChunk, 0, ringChunk},
		{ringChunk + 1, -1, 2 * ringChunk},
		{2 * ringChunk, 1, 2 * ringChunk},
		{3 * ringChunk, -1, 4 * ringChunk},
		{256 << 10, 6, 256 << 10},
		{1 << 30, storageClasses - 1, 1 << 30},
		{1 << 31, -1, 1 << 31},
	} {
		if got := storageClass(tc.n); got != tc.class {
			t.Errorf("storageClass(%d) = %d, want %d", tc.n, got, tc.class)
		}
		if got := classSize(tc.n); got != tc.size {
			t.Errorf("classSize(%d) = %d, want %d", tc.n, got, tc.size)
		}
	}
}

// checkStorage asserts the free list's bounds: rings plus kept storage
// within the limit, kept storage within keepable, and the byte counts
// matching the buffers actually held and kept.
func checkStorage(t *testing.T, step int, b *budget, rings []ring) {
	t.Helper()
	held := 0
	for i := range rings {
		held += len(rings[i].buf)
	}
	kept := 0
	for c, l := range b.store.free {
		for _, buf := range l {
			if storageClass(len(buf)) != c {
				t.Fatalf("step %d: a %d-byte buffer in class %d", step, len(buf), c)
			}
			kept += len(buf)
		}
	}
	if held != b.inUse || kept != b.store.bytes {
		t.Fatalf("step %d: rings hold %d (budget says %d), list keeps %d (says %d)", step, held, b.inUse, kept, b.store.bytes)
	}
	if kept > b.keepable() || held+kept > b.limit {
		t.Fatalf("step %d: rings hold %d, list keeps %d: over keepable %d or limit %d", step, held, kept, b.keepable(), b.limit)
	}
}

// TestStorageRecycled: rings on one budget that fill, drain, release and
// regrow keep their bytes intact, never exceed the budget with rings and
// free list together, and once all are released nothing is kept.
func TestStorageRecycled(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 7))
		b := &budget{limit: 1 << 20}
		rings := make([]ring, 16)
		models := make([][]byte, len(rings))
		for i := range rings {
			rings[i] = newBudgetRing(128<<10+rng.IntN(2)*100, b, i%2 == 0)
		}
		maxKept := 0
		for step := range 20000 {
			i := rng.IntN(len(rings))
			r := &rings[i]
			switch rng.IntN(4) {
			case 0, 1:
				p := make([]byte, rng.IntN(20000))
				for j := range p {
					p[j] = byte(rng.Uint32())
				}
				n := r.Append(p)
				models[i] = append(models[i], p[:n]...)
			case 2:
				p := make([]byte, rng.IntN(30000))
				n := r.Read(p)
				if !bytes.Equal(p[:n], models[i][:n]) {
					t.Fatalf("step %d ring %d: read bytes differ", step, i)
				}
				models[i] = models[i][n:]
			case 3:
				if r.Len() == 0 {
					r.release()
				}
			}
			checkStorage(t, step, b, rings)
			maxKept = max(maxKept, b.store.bytes)
		}
		if maxKept == 0 {
			t.Fatal("the free list never kept anything: the test exercises nothing")
		}
		for i := range rings {
			r := &rings[i]
			p := make([]byte, r.Len())
			if r.Read(p) != len(models[i]) || !bytes.Equal(p, models[i]) {
				t.Fatalf("ring %d: final bytes differ", i)
			}
			r.release()
			checkStorage(t, -1, b, rings)
		}
		if b.inUse != 0 || b.store.bytes != 0 {
			t.Fatalf("all released: %d in use, %d kept", b.inUse, b.store.bytes)
		}
	}
}

// TestStorageReuseZeroed: storage a ring released is what the next ring
// of that size gets, and it reads as zeros, not the previous bytes.
func TestStorageReuseZeroed(t *testing.T) {
	b := &budget{limit: 1 << 20}
	busy := newBudgetRing(64<<10, b, false) // keeps inUse up so the list may keep
	busy.Append(make([]byte, 64<<10))
	r := newBudgetRing(8<<10, b, false)
	r.Append(bytes.Repeat([]byte{0xa5}, 8<<10))
	old := &r.buf[0]
	r.Discard(r.Len())
	r.release()
	if b.store.bytes != 8<<10 {
		t.Fatalf("list keeps %d bytes after a release, want %d", b.store.bytes, 8<<10)
	}
	s := newBudgetRing(8<<10, b, false)
	s.Append(make([]byte, 8<<10))
	if &s.buf[0] != old {
		t.Fatal("the released storage was not reused")
	}
	if !bytes.Equal(s.buf, make([]byte, 8<<10)) {
		t.Fatal("reused storage holds the previous connection's bytes")
	}
	if b.store.bytes != 0 {
		t.Fatalf("list keeps %d bytes, want 0", b.store.bytes)
	}
}

// TestStorageLargerBuffer: a ring asking for a size the list lacks gets a
// kept buffer up to storageSlack classes larger when the budget grants the
// difference, charged in full; when the buffer is larger still, or a send
// ring would eat into what the budget keeps for receiving, it gets new
// storage of the size asked and the kept buffer stays kept.
func TestStorageLargerBuffer(t *testing.T) {
	for _, tc := range []struct {
		name         string
		kept, busy   int
		send         bool
		wantReuse    bool
		wantStorage  int
		wantKeptLeft int
	}{
		{"two classes up", 16 << 10, 64 << 10, false, true, 16 << 10, 0},
		{"two classes up, send", 16 << 10, 64 << 10, true, true, 16 << 10, 0},
		{"three classes up", 32 << 10, 64 << 10, false, false, 4 << 10, 32 << 10},
		{"send keep too short", 16 << 10, 180 << 10, true, false, 4 << 10, 16 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &budget{limit: 256 << 10}
			busy := newBudgetRing(tc.busy, b, false) // keeps inUse up so the list may keep
			busy.Append(make([]byte, tc.busy))
			r := newBudgetRing(tc.kept, b, false)
			r.Append(make([]byte, tc.kept))
			old := &r.buf[0]
			r.Discard(r.Len())
			r.release()
			if b.store.bytes != tc.kept {
				t.Fatalf("list keeps %d, want %d", b.store.bytes, tc.kept)
			}
			s := newBudgetRing(256<<10, b, tc.send)
			s.Append([]byte{1})
			if reused := &s.buf[0] == old; reused != tc.wantReuse {
				t.Fatalf("reused %v, want %v", reused, tc.wantReuse)
			}
			if len(s.buf) != tc.wantStorage || b.inUse != len(s.buf)+len(busy.buf) {
				t.Fatalf("ring holds %d (want %d), budget in use %d", len(s.buf), tc.wantStorage, b.inUse)
			}
			if b.store.bytes != tc.wantKeptLeft {
				t.Fatalf("list keeps %d, want %d", b.store.bytes, tc.wantKeptLeft)
			}
			if s.Read(make([]byte, 2)) != 1 {
				t.Fatal("the byte written is not readable")
			}
		})
	}
}

// TestStorageShortGrant: when the budget grants less than was asked, a
// ring holding an odd size moves to a reusable (power-of-two) size if that
// still holds the bytes asked for, and the rest goes back to the budget.
func TestStorageShortGrant(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		have, avail, end, want int
	}{
		{"back to a class", 7 << 10, 3 << 10, 8 << 10, 8 << 10},
		{"all needed", 7 << 10, 3 << 10, 10 << 10, 10 << 10},
		{"doubling", 4 << 10, 1 << 20, 5 << 10, 8 << 10},
		{"first grant short", 0, 7 << 10, 7 << 10, 7 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &budget{limit: tc.have + tc.avail}
			r := newBudgetRing(1<<20, b, false)
			if tc.have > 0 {
				r.buf = make([]byte, tc.have)
				r.n = tc.have
				b.inUse = tc.have
			}
			if got := r.reserve(tc.end); got != tc.want {
				t.Fatalf("reserve(%d) holding %d with %d available = %d, want %d", tc.end, tc.have, tc.avail, got, tc.want)
			}
			if b.inUse != len(r.buf) || len(r.buf) != tc.want {
				t.Fatalf("budget in use %d, ring holds %d, want %d", b.inUse, len(r.buf), tc.want)
			}
		})
	}
}

// BenchmarkRingRegrow: a ring that fills and empties under memory pressure
// (released each time) allocates nothing once the free list holds its
// storage.
func BenchmarkRingRegrow(b *testing.B) {
	bg := &budget{limit: 8 << 20}
	hold := newBudgetRing(1<<20, bg, false)
	hold.Append(make([]byte, 1<<20))
	r := newBudgetRing(256<<10, bg, false)
	p := make([]byte, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(4 * len(p)))
	for b.Loop() {
		for range 4 {
			r.Append(p)
		}
		r.Discard(r.Len())
		r.release()
	}
}
