package udp

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzQueue drives a small queue with operations decoded from the input and
// checks it against a slice model: FIFO order, intact bytes, exact room.
func FuzzQueue(f *testing.F) {
	f.Add([]byte{10, 200, 0, 5, 3, 0, 0, 0})
	f.Add([]byte{255, 255, 255, 0, 0, 1, 128, 7})
	f.Fuzz(func(t *testing.T, ops []byte) {
		q := queue{capacity: 300}
		type rec struct {
			from netip.AddrPort
			data []byte
		}
		var model []rec
		used := 0
		for i, op := range ops {
			if op&1 == 0 {
				n := int(op)
				p := bytes.Repeat([]byte{byte(i)}, n)
				from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), uint16(i))
				fits := used+recordHeaderLen+n <= q.capacity
				if got := q.push(from, p); got != fits {
					t.Fatalf("op %d: push %d bytes = %v with %d used, want %v", i, n, got, used, fits)
				}
				if fits {
					model = append(model, rec{from, p})
					used += recordHeaderLen + n
				}
				continue
			}
			buf := make([]byte, int(op)/2)
			n, from, ok := q.pop(buf)
			if ok != (len(model) > 0) {
				t.Fatalf("op %d: pop ok=%v with %d queued", i, ok, len(model))
			}
			if !ok {
				continue
			}
			want := model[0]
			model = model[1:]
			used -= recordHeaderLen + len(want.data)
			w := want.data[:min(len(want.data), len(buf))]
			if from != want.from || !bytes.Equal(buf[:n], w) {
				t.Fatalf("op %d: got %d bytes from %v, want %d from %v", i, n, from, len(w), want.from)
			}
		}
		if q.used != used || q.count != len(model) {
			t.Fatalf("queue used %d count %d, model %d %d", q.used, q.count, used, len(model))
		}
	})
}
