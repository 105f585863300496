package conformance

import (
	"bytes"
	"errors"
	"math/bits"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/core/wire"
	"github.com/microtcp/microtcp/link"
)

// maxUnfragmented is the largest UDP payload that fits one 1500-byte
// Ethernet MTU: 1500 - 20 (IPv4) - 8 (UDP).
const maxUnfragmented = 1472

// echoServer echoes every datagram back to its sender until c fails.
type echoServer struct {
	echoed     atomic.Uint64 // datagrams read (and echoed unless the write failed)
	fragmented atomic.Uint64 // of which larger than one MTU
	writeFails atomic.Uint64
	done       chan error
}

func serveEcho(c net.PacketConn) *echoServer {
	s := &echoServer{done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				s.done <- err
				return
			}
			s.echoed.Add(1)
			if n > maxUnfragmented {
				s.fragmented.Add(1)
			}
			if _, err := c.WriteTo(buf[:n], from); err != nil {
				// Under loss ARP may give up: the client retries.
				s.writeFails.Add(1)
			}
		}
	}()
	return s
}

func TestUDPEchoManySizes(t *testing.T) {
	const (
		window  = 32
		maxSize = 8000
	)
	count := 10000
	if testing.Short() {
		count = 2000
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	// 32 datagrams of 8000 bytes outgrow Linux's default 208 KiB queue;
	// a clean pipe must lose nothing, so give the queues room.
	p := newPair(t, opts{UDPReceiveBuffer: 1 << 20})
	srvConn, err := p.A.ListenPacket("udp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveEcho(srvConn)
	cli, err := p.B.ListenPacket("udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	dst := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 7}

	sizeOf := func(seq uint32) int { return int(seq) % (maxSize + 1) }
	outstanding := make(map[uint32][]byte, window)
	bySmallSize := make(map[int]uint32) // sizes < 4 carry no sequence number
	buf := make([]byte, 65536)
	var next uint32
	var fragmentedReplies uint64
	for received := 0; received < count; {
		for int(next) < count && len(outstanding) < window {
			msg := payload(seed, next, sizeOf(next))
			if _, err := cli.WriteTo(msg, dst); err != nil {
				t.Fatalf("WriteTo #%d (%d bytes): %v", next, len(msg), err)
			}
			outstanding[next] = msg
			if len(msg) < 4 {
				bySmallSize[len(msg)] = next
			}
			next++
		}
		// A clean pipe loses nothing: a stall is a failure, not a retry.
		cli.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := cli.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d replies: %v\n%s\n%s", received, err, describe(p.A), describe(p.B))
		}
		if from.String() != "10.0.0.1:7" {
			t.Fatalf("reply from %v", from)
		}
		got := buf[:n]
		var seq uint32
		if n >= 4 {
			seq = seqOf(got)
		} else {
			var ok bool
			if seq, ok = bySmallSize[n]; !ok {
				t.Fatalf("unexpected %d-byte reply %x", n, got)
			}
			delete(bySmallSize, n)
		}
		want, ok := outstanding[seq]
		if !ok {
			t.Fatalf("reply for #%d which is not outstanding (duplicate or corrupt header)", seq)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("reply #%d: %d bytes, want %d, content differs", seq, n, len(want))
		}
		if n > maxUnfragmented {
			fragmentedReplies++
		}
		delete(outstanding, seq)
		received++
	}

	a, b := p.A.Stats(), p.B.Stats()
	if got, want := srv.echoed.Load(), uint64(count); got != want || a.UDP.InDatagrams != want || b.UDP.InDatagrams != want {
		t.Errorf("server echoed %d, A.UDP.InDatagrams %d, B.UDP.InDatagrams %d; want %d each", got, a.UDP.InDatagrams, b.UDP.InDatagrams, count)
	}
	if a.UDP.RcvbufErrors+b.UDP.RcvbufErrors != 0 || p.PipeA.Dropped()+p.PipeB.Dropped() != 0 {
		t.Errorf("drops on a clean pipe: rcvbuf A %d B %d, pipe %d/%d", a.UDP.RcvbufErrors, b.UDP.RcvbufErrors, p.PipeA.Dropped(), p.PipeB.Dropped())
	}
	// Every datagram larger than one MTU went through reassembly once.
	if a.IPv4.Reassembly.Reassembled != srv.fragmented.Load() || b.IPv4.Reassembly.Reassembled != fragmentedReplies {
		t.Errorf("reassembled A %d (want %d), B %d (want %d)", a.IPv4.Reassembly.Reassembled, srv.fragmented.Load(), b.IPv4.Reassembly.Reassembled, fragmentedReplies)
	}
	if err := srvConn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-srv.done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("server stopped with %v, want net.ErrClosed", err)
	}
}

func TestUDPEchoUnderFaults(t *testing.T) {
	// The bubble's clock starts at a fixed epoch, so the seed comes from
	// the real clock before entering it.
	seed := time.Now().UnixNano()
	for _, tc := range []struct {
		name      string
		faults    link.FaultConfig
		minEchoed uint64 // of count, within maxTries
	}{
		{"loss 20%", link.FaultConfig{Loss: 0.20}, 150},
		// A flipped bit may poison an ARP entry for its lifetime, so
		// expect less; what matters is that nothing corrupt gets through.
		{"loss+duplicate+reorder+corrupt", link.FaultConfig{Loss: 0.05, Duplicate: 0.05, Reorder: 0.05, Corrupt: 0.02}, 75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.faults.Seed = seed
			testUDPEchoUnderFaults(t, tc.faults, tc.minEchoed)
		})
	}
}

func testUDPEchoUnderFaults(t *testing.T, faults link.FaultConfig, minEchoed uint64) {
	synctest.Test(t, func(t *testing.T) {
		const (
			count    = 300
			maxTries = 20
			maxSize  = 8000
		)
		seed := faults.Seed
		p := newPair(t, opts{
			Faults:           &faults,
			InBubble:         true,
			UDPReceiveBuffer: 1 << 20,
		})
		srvConn, err := p.A.ListenPacket("udp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		srv := serveEcho(srvConn)
		cli, err := p.B.ListenPacket("udp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		dst := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 7}

		sizeOf := func(seq uint32) int { return int(seq*2671) % (maxSize + 1) }
		sent := make(map[uint32][]byte, count)
		// check verifies a reply against everything sent and returns the
		// sequence number it answers; blind counts the replies corrupted
		// past the checksum (see checksumBlind).
		var blind uint64
		check := func(got []byte) uint32 {
			if len(got) >= 4 {
				seq := seqOf(got)
				if want, ok := sent[seq]; ok && bytes.Equal(got, want) {
					return seq
				}
				for seq, want := range sent {
					if checksumBlind(got, want) {
						// Two flipped bits that cancel in the ones'
						// complement sum: no stack can see them.
						blind++
						t.Logf("reply of %d bytes differs from datagram %d by bit flips the Internet checksum cannot see", len(got), seq)
						return ^uint32(0)
					}
				}
				t.Fatalf("reply of %d bytes (seq field %d) matches nothing sent", len(got), seq)
			}
			for seq, want := range sent {
				if bytes.Equal(got, want) {
					return seq
				}
			}
			t.Fatalf("%d-byte reply %x matches nothing sent", len(got), got)
			return 0
		}

		buf := make([]byte, 65536)
		var replies, fragmentedReplies, echoedOK, sendFails uint64
		readReply := func(deadline time.Time) (uint32, bool) {
			cli.SetReadDeadline(deadline)
			n, _, err := cli.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, false
			}
			if err != nil {
				t.Fatalf("ReadFrom: %v", err)
			}
			replies++
			if n > maxUnfragmented {
				fragmentedReplies++
			}
			return check(buf[:n]), true
		}
		for seq := uint32(0); seq < count; seq++ {
			msg := payload(uint64(seed), seq, sizeOf(seq))
			sent[seq] = msg
		tries:
			for range maxTries {
				if _, err := cli.WriteTo(msg, dst); err != nil {
					if !errors.Is(err, syscall.EHOSTUNREACH) {
						t.Fatalf("WriteTo: %v", err)
					}
					// ARP gave up under loss; try again later.
					sendFails++
					time.Sleep(200 * time.Millisecond)
					continue
				}
				deadline := time.Now().Add(200 * time.Millisecond)
				for {
					got, ok := readReply(deadline)
					if !ok {
						break // lost: retransmit
					}
					if got == seq {
						echoedOK++
						break tries
					}
				}
			}
		}
		// Drain late replies: virtual time only moves when every
		// goroutine is blocked, so nothing is in flight after this.
		for {
			if _, ok := readReply(time.Now().Add(time.Second)); !ok {
				break
			}
		}
		synctest.Wait()

		t.Logf("%d/%d echoed, %d replies, %d ARP failures, %d corrupted past the checksum", echoedOK, count, replies, sendFails, blind)
		// Two cancelling flips in one datagram are rare (2 % of frames
		// are corrupted); more than a couple means the stack mixes data.
		if blind > 2 {
			t.Errorf("%d replies corrupted past the checksum, want at most 2", blind)
		}
		if echoedOK < minEchoed {
			t.Errorf("only %d of %d datagrams echoed within %d tries, want at least %d", echoedOK, count, maxTries, minEchoed)
		}
		a, b := p.A.Stats(), p.B.Stats()
		fa, fb := p.FaultA.Stats(), p.FaultB.Stats()
		if fa.Dropped == 0 || fb.Dropped == 0 {
			t.Errorf("the faulty links dropped nothing: %+v %+v", fa, fb)
		}
		t.Logf("faults A→B %+v, B→A %+v", fa, fb)
		// Every frame a stack sent went through its Faulty; every frame
		// the Faulty delivered reached the other stack.
		for _, c := range []struct {
			name               string
			written, framesOut uint64
			delivered, in      uint64
			pipeDropped        uint64
		}{
			{"A→B", fa.Written, a.Link.FramesOut, fa.Delivered, b.Link.FramesIn, p.PipeA.Dropped()},
			{"B→A", fb.Written, b.Link.FramesOut, fb.Delivered, a.Link.FramesIn, p.PipeB.Dropped()},
		} {
			if c.written != c.framesOut {
				t.Errorf("%s: Faulty saw %d frames written, the sender's FramesOut is %d", c.name, c.written, c.framesOut)
			}
			if c.delivered != c.in+c.pipeDropped {
				t.Errorf("%s: Faulty delivered %d frames, receiver's FramesIn %d (+%d dropped by the pipe)", c.name, c.delivered, c.in, c.pipeDropped)
			}
		}
		if a.UDP.InDatagrams != srv.echoed.Load() || b.UDP.InDatagrams != replies {
			t.Errorf("UDP in: A %d (server read %d), B %d (client read %d)", a.UDP.InDatagrams, srv.echoed.Load(), b.UDP.InDatagrams, replies)
		}
		if a.UDP.OutDatagrams != srv.echoed.Load()-srv.writeFails.Load() {
			t.Errorf("A.UDP.OutDatagrams %d, server echoed %d with %d failures", a.UDP.OutDatagrams, srv.echoed.Load(), srv.writeFails.Load())
		}
		if faults.Corrupt == 0 {
			// Every reassembled datagram reached the socket, and only
			// those were bigger than one MTU.
			if a.IPv4.Reassembly.Reassembled != srv.fragmented.Load() || b.IPv4.Reassembly.Reassembled != fragmentedReplies {
				t.Errorf("reassembled A %d (server got %d fragmented), B %d (client got %d)",
					a.IPv4.Reassembly.Reassembled, srv.fragmented.Load(), b.IPv4.Reassembly.Reassembled, fragmentedReplies)
			}
			if a.UDP.BadChecksum+b.UDP.BadChecksum+a.IPv4.BadChecksum+b.IPv4.BadChecksum != 0 {
				t.Errorf("bad checksums without corruption: %+v %+v", a.UDP, b.UDP)
			}
			return
		}
		// Corrupt frames were caught by some check (checksums, lengths,
		// addresses) rather than delivered: check() above saw only intact
		// payloads. At least one must have been counted as a drop.
		caught := func(s microtcp.Stats) uint64 {
			return s.Link.NotForUs + s.Link.UnknownEtherType + s.Link.Truncated +
				s.ARP.Truncated + s.ARP.Unsupported + s.ARP.Cache.Ignored +
				s.IPv4.BadChecksum + s.IPv4.BadHeader + s.IPv4.BadVersion + s.IPv4.Truncated + s.IPv4.NotForUs +
				s.IPv4.BadSource + s.IPv4.UnknownProtocol + s.IPv4.ReassemblyFails +
				s.ICMP.BadChecksum + s.UDP.BadChecksum + s.UDP.BadLength + s.UDP.Truncated + s.UDP.NoPorts
		}
		if fa.Corrupted+fb.Corrupted > 0 && caught(a)+caught(b) == 0 {
			t.Errorf("%d frames corrupted but no drop counter moved", fa.Corrupted+fb.Corrupted)
		}
	})
}

func TestReadFromDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, opts{InBubble: true})
		c, err := p.A.ListenPacket("udp", ":9")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(-time.Second))
		_, _, err = c.ReadFrom(make([]byte, 8))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("ReadFrom past its deadline: %v; want os.ErrDeadlineExceeded and a net.Error with Timeout()", err)
		}

		// A past deadline set while ReadFrom is blocked wakes it.
		c.SetReadDeadline(time.Time{})
		errc := make(chan error, 1)
		go func() {
			_, _, err := c.ReadFrom(make([]byte, 8))
			errc <- err
		}()
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("ReadFrom without deadline returned %v", err)
		default:
		}
		c.SetReadDeadline(time.Now().Add(-time.Second))
		if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("woken ReadFrom: %v, want os.ErrDeadlineExceeded", err)
		}
	})
}

func TestWriteToUnresolvableWhileEchoWorks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, opts{InBubble: true})
		srvConn, err := p.A.ListenPacket("udp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		serveEcho(srvConn)
		lost, err := p.B.ListenPacket("udp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		type result struct {
			err     error
			elapsed time.Duration
		}
		done := make(chan result, 1)
		go func() {
			_, err := lost.WriteTo([]byte("anyone?"), &net.UDPAddr{IP: net.IPv4(10, 0, 0, 99), Port: 53})
			done <- result{err, time.Since(start)}
		}()

		// Meanwhile a real exchange keeps working, every 250 ms, on
		// another socket of the same stack.
		cli, err := p.B.Dial("udp", "10.0.0.1:7")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		rounds := 0
		for ; rounds < 100; rounds++ {
			select {
			case r := <-done:
				if !errors.Is(r.err, syscall.EHOSTUNREACH) {
					t.Fatalf("WriteTo 10.0.0.99: %v, want EHOSTUNREACH", r.err)
				}
				if r.elapsed < 2*time.Second || r.elapsed > 4*time.Second {
					t.Fatalf("gave up after %v, want about 3s of ARP retries", r.elapsed)
				}
				if rounds < 8 {
					t.Fatalf("only %d echo rounds completed during the ARP wait", rounds)
				}
				return
			default:
			}
			msg := []byte{byte(rounds), 'e', 'c', 'h', 'o'}
			if _, err := cli.Write(msg); err != nil {
				t.Fatalf("echo round %d: %v", rounds, err)
			}
			cli.SetReadDeadline(time.Now().Add(time.Second))
			n, err := cli.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], msg) {
				t.Fatalf("echo round %d: %q, %v", rounds, buf[:n], err)
			}
			time.Sleep(250 * time.Millisecond) // paces the rounds in virtual time
		}
		t.Fatal("the WriteTo to 10.0.0.99 never returned")
	})
}

func TestCloseUnblocks(t *testing.T) {
	t.Run("PacketConn.Close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPair(t, opts{InBubble: true})
			c, err := p.A.ListenPacket("udp", ":9")
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				_, _, err := c.ReadFrom(make([]byte, 8))
				errc <- err
			}()
			synctest.Wait()
			c.Close()
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("ReadFrom after Close: %v, want net.ErrClosed", err)
			}
		})
	})
	t.Run("Stack.Close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPair(t, opts{InBubble: true})
			c, err := p.A.ListenPacket("udp", ":9")
			if err != nil {
				t.Fatal(err)
			}
			conn, err := p.A.Dial("udp", "10.0.0.2:9")
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 4)
			go func() { _, _, err := c.ReadFrom(make([]byte, 8)); errs <- err }()
			go func() { _, err := conn.Read(make([]byte, 8)); errs <- err }()
			go func() {
				_, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(10, 0, 0, 99), Port: 9})
				errs <- err
			}()
			go func() { _, err := p.A.Ping(t.Context(), addrB.Next()); errs <- err }()
			synctest.Wait()
			if err := p.A.Close(); err != nil {
				t.Fatal(err)
			}
			for range 4 {
				if err := <-errs; !errors.Is(err, net.ErrClosed) {
					t.Errorf("blocked call after Stack.Close: %v, want net.ErrClosed", err)
				}
			}
		})
	})
}

func TestConnectedReadKeepsDatagramBoundaries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, opts{InBubble: true})
		srv, err := p.A.ListenPacket("udp", ":53")
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.B.Dial("udp", "10.0.0.1:53")
		if err != nil {
			t.Fatal(err)
		}
		msgs := []string{"first answer", "2nd", "", "the fourth and longest answer"}
		if _, err := c.Write([]byte("q")); err != nil { // resolves ARP both ways
			t.Fatal(err)
		}
		srv.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := srv.ReadFrom(make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if _, err := srv.WriteTo([]byte(m), c.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 512) // room for all of them together
		for _, m := range msgs {
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != m {
				t.Fatalf("Read = %q, %v; want exactly one datagram %q", buf[:n], err, m)
			}
		}
	})
}

// checksumBlind reports whether got is want with a few bits flipped in a
// way the RFC 1071 checksum cannot detect: same length, at most 4 bits
// apart, same ones' complement sum. Link corruption of two fragments of
// one datagram can do that (flips of the same bit position modulo 16 in
// opposite directions cancel); a stack that mixes up data cannot.
func checksumBlind(got, want []byte) bool {
	if len(got) != len(want) || wire.Checksum(got) != wire.Checksum(want) {
		return false
	}
	flips := 0
	for i := range got {
		flips += bits.OnesCount8(got[i] ^ want[i])
		if flips > 4 {
			return false
		}
	}
	return flips > 0
}

func TestChecksumBlind(t *testing.T) {
	want := []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}
	one := bytes.Clone(want)
	one[1] ^= 0x04 // a single flip always changes the sum
	cancel := bytes.Clone(want)
	cancel[1] ^= 0x04 // 0x34 → 0x30: bit 2 of word 0 goes 1 → 0
	cancel[3] ^= 0x04 // 0x78 → 0x7c: bit 2 of word 1 goes 0 → 1
	for _, c := range []struct {
		name string
		got  []byte
		want bool
	}{
		{"identical", bytes.Clone(want), false},
		{"one flip", one, false},
		{"cancelling flips", cancel, true},
		{"other length", want[:4], false},
	} {
		if got := checksumBlind(c.got, want); got != c.want {
			t.Errorf("%s: checksumBlind = %v, want %v", c.name, got, c.want)
		}
	}
}
