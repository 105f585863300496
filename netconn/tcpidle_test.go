package netconn

import (
	"testing"
	"testing/synctest"
)

// TestTCPIdleHoldsNoWaitState: an established connection that nobody
// reads, writes or sets a deadline on holds none of the channels and
// deadlines a blocked call needs (issue #6, idle memory); its first Read
// makes them and still sees what arrived before.
func TestTCPIdleHoldsNoWaitState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		client, server := tcpPair(t, a, b)
		if client.w.Load() != nil || server.w.Load() != nil {
			t.Fatalf("idle connections hold wait state: client %v, server %v", client.w.Load() != nil, server.w.Load() != nil)
		}
		if client.LocalAddr() != client.LocalAddr() || client.RemoteAddr().String() != server.LocalAddr().String() {
			t.Fatalf("addresses: client %v→%v, server %v", client.LocalAddr(), client.RemoteAddr(), server.LocalAddr())
		}
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the byte arrives while the server holds no wait state
		if server.w.Load() != nil {
			t.Fatal("a waker made the server's wait state")
		}
		b1 := make([]byte, 1)
		if n, err := server.Read(b1); n != 1 || err != nil || b1[0] != 'x' {
			t.Fatalf("Read = %d, %v, %q", n, err, b1[:n])
		}
	})
}
