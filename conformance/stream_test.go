package conformance

import (
	"bytes"
	"io"
	"testing"
)

// The body generator must not depend on how it is read: HTTP/2 reads
// request bodies in odd-sized pieces, TLS in records, io.Copy in 32 KiB.
func TestStreamIndependentOfReadSizes(t *testing.T) {
	const size = 10000
	want := make([]byte, size)
	if _, err := io.ReadFull(body(42, size), want); err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 3, 7, 8, 9, 512, 513, 4096} {
		var got bytes.Buffer
		r := body(42, size)
		buf := make([]byte, chunk)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("reading in %d-byte pieces gives different bytes", chunk)
		}
	}
	// Nearby seeds give different streams.
	other := make([]byte, size)
	io.ReadFull(body(43, size), other)
	if bytes.Equal(other, want) {
		t.Error("seeds 42 and 43 give the same stream")
	}
	if bodySum(42, size) != bodySum(42, size) || bodySum(42, size) == bodySum(43, size) {
		t.Error("bodySum is not a function of (seed, size)")
	}
}
