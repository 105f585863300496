package conformance

import (
	"crypto/sha256"
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// A reader slower than the link is what flow control is for (RFC 9293
// §3.8.6): the receive window closes and reopens as the application reads,
// and on a lossless link nothing is ever discarded or retransmitted. On
// virtual time the slow reader is exact: it takes readPause per Read.
func TestTCPSlowReaderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			size      = 4 << 20
			chunk     = 16 << 10
			readPause = time.Millisecond
		)
		p := newPair(t, opts{InBubble: true})
		ln := listenTCP(t, p.B, addrBPort(tcpPort))
		client, server := mustConnect(t, p.A, ln)
		wrote := make(chan error, 1)
		go func() {
			_, err := io.Copy(server, body(7, size))
			if err == nil {
				err = server.Close()
			}
			wrote <- err
		}()

		start := time.Now()
		h := sha256.New()
		buf := make([]byte, chunk)
		var n int64
		for {
			m, err := client.Read(buf)
			h.Write(buf[:m])
			n += int64(m)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read after %d bytes: %v", n, err)
			}
			time.Sleep(readPause) // the application's own work, on virtual time
		}
		took := time.Since(start)
		if err := <-wrote; err != nil {
			t.Fatalf("writer: %v", err)
		}
		if n != size || sum(h) != bodySum(7, size) {
			t.Fatalf("read %d bytes (sha256 %x), want %d", n, h.Sum(nil), size)
		}

		a, b := p.A.Stats().TCP, p.B.Stats().TCP
		t.Logf("%d bytes to a reader pausing %v per %d-byte Read: %v virtual; pipe drops %d/%d; receiver A %+v; sender B %+v",
			n, readPause, chunk, took, p.PipeA.Dropped(), p.PipeB.Dropped(), a, b)
		if p.PipeA.Dropped()+p.PipeB.Dropped() != 0 {
			t.Fatalf("the pipe dropped frames; this test needs a lossless link")
		}
		if b.RTOs != 0 || b.FastRetransmits != 0 {
			t.Errorf("lossless link, slow reader: sender had %d RTOs and %d fast retransmits; "+
				"it sent data the receiver discarded (receiver dropped %d segments)", b.RTOs, b.FastRetransmits, a.Dropped)
		}
		// The reader needs size/chunk pauses; flow control may add little.
		if ideal := time.Duration(size/chunk) * readPause; took > 2*ideal {
			t.Errorf("transfer took %v of virtual time, the reader alone needs %v", took, ideal)
		}
	})
}
