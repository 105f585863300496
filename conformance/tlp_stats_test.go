package conformance

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
)

// TestPipeBulkLossCounters sends 16 MiB from A to B over a clean link.Pipe
// and logs the loss-recovery counters of both stacks next to the frames
// the pipe itself dropped (its queue is finite, like a real interface
// queue): with no pipe drops there is nothing a probe or a retransmission
// could repair, so any that fire were caused by late ACKs, not loss.
func TestPipeBulkLossCounters(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB transfer")
	}
	const size = 16 << 20
	p := newPair(t, opts{})
	ln, err := p.B.Listen("tcp", "10.0.0.2:9")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	sums := make(chan [sha256.Size]byte, 1)
	errs := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errs <- err
			return
		}
		defer c.Close()
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err == nil && n != size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			errs <- err
			return
		}
		sums <- [sha256.Size]byte(h.Sum(nil))
	}()
	c, err := p.A.Dial("tcp", "10.0.0.2:9")
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	data := payload(7, 0, size)
	want := sha256.Sum256(data)
	if _, err := io.Copy(c, bytes.NewReader(data)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case got := <-sums:
		if got != want {
			t.Fatalf("received bytes differ from sent (sha256 %x, want %x)", got, want)
		}
	case err := <-errs:
		t.Fatalf("receiver: %v", err)
	}
	a, b := p.A.Stats().TCP, p.B.Stats().TCP
	t.Logf("pipe drops A→B %d, B→A %d", p.PipeA.Dropped(), p.PipeB.Dropped())
	t.Logf("sender A: Retransmits %d RTOs %d FastRetransmits %d TailLossProbes %d LostRetransmits %d Dropped %d SegmentsOut %d",
		a.Retransmits, a.RTOs, a.FastRetransmits, a.TailLossProbes, a.LostRetransmits, a.Dropped, a.SegmentsOut)
	t.Logf("receiver B: Dropped %d PAWSRejected %d ChallengeACKs %d SegmentsIn %d",
		b.Dropped, b.PAWSRejected, b.ChallengeACKs, b.SegmentsIn)
}
