package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

// TestRing checks the ring against a plain slice under random appends,
// reads, writes ahead and growth.
func TestRing(t *testing.T) {
	const seed = 3
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	r := newRing(100)
	var model []byte
	for i := 0; i < 10000; i++ {
		switch rng.IntN(4) {
		case 0:
			p := make([]byte, rng.IntN(60))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			n := r.Append(p)
			if n != min(len(p), 100-len(model)+(r.size-100)) {
				t.Fatalf("Append took %d of %d with %d free", n, len(p), r.Free())
			}
			model = append(model, p[:n]...)
		case 1:
			p := make([]byte, rng.IntN(60))
			n := r.Read(p)
			if !bytes.Equal(p[:n], model[:n]) {
				t.Fatalf("Read %x, want %x", p[:n], model[:n])
			}
			model = model[n:]
		case 2:
			// Write ahead, then make it readable, as reassembly does.
			if r.Free() >= 10 {
				p := []byte("0123456789")
				r.writeAt(r.Len()+5, p[5:])
				r.writeAt(r.Len(), p[:5])
				r.extend(10)
				model = append(model, p...)
			}
		case 3:
			if rng.IntN(50) == 0 {
				r.grow(r.size + rng.IntN(50))
			}
		}
		if r.Len() != len(model) {
			t.Fatalf("Len %d, want %d", r.Len(), len(model))
		}
		p := make([]byte, len(model))
		if r.Peek(0, p) != len(model) || !bytes.Equal(p, model) {
			t.Fatalf("step %d: contents %x, want %x", i, p, model)
		}
	}
	if r.Peek(-1, make([]byte, 4)) != 0 {
		t.Fatal("Peek at a negative offset returned bytes")
	}
}

// TestOOORanges: ranges merge, stay sorted, respect the bound, and are
// taken from rcv.nxt.
func TestOOORanges(t *testing.T) {
	o := oooRanges{}
	b := func(l, r wire.Seq) wire.SACKBlock { return wire.SACKBlock{Left: l, Right: r} }
	for _, x := range []wire.SACKBlock{b(30, 40), b(10, 20), b(50, 60)} {
		if !o.add(x.Left, x.Right, 3) {
			t.Fatalf("add %v refused", x)
		}
	}
	if o.add(70, 80, 3) {
		t.Fatal("fourth range accepted past the bound")
	}
	if !o.add(20, 30, 3) || len(o.r) != 2 || o.r[0] != b(10, 40) {
		t.Fatalf("merge: %v", o.r)
	}
	if !o.add(0xfffffff0, 5, 3) || o.r[0] != b(0xfffffff0, 5) {
		t.Fatalf("wrap-around range not first: %v", o.r)
	}
	if _, ok := o.take(0xffffffe0); ok {
		t.Fatal("took a range that starts after rcv.nxt")
	}
	if r, ok := o.take(0xfffffff0); !ok || r != 5 {
		t.Fatalf("take = %d, %v", r, ok)
	}
}
