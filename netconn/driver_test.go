package netconn

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/link"
)

// scriptLink is a link whose reads come from a channel of results and whose
// writes fail with writeErr (nil = succeed and record).
type scriptLink struct {
	reads    chan readResult
	writeErr error

	mu      sync.Mutex
	written [][]byte
	closed  chan struct{}
	once    sync.Once
}

type readResult struct {
	frame []byte
	err   error
}

func newScriptLink(writeErr error) *scriptLink {
	return &scriptLink{reads: make(chan readResult), writeErr: writeErr, closed: make(chan struct{})}
}

func (l *scriptLink) Read(p []byte) (int, error) {
	select {
	case r := <-l.reads:
		n := copy(p, r.frame)
		if r.err == nil && n < len(r.frame) {
			return n, io.ErrShortBuffer
		}
		return n, r.err
	case <-l.closed:
		return 0, net.ErrClosed
	}
}

func (l *scriptLink) Write(p []byte) (int, error) {
	if l.writeErr != nil {
		return 0, l.writeErr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.written = append(l.written, append([]byte(nil), p...))
	return len(p), nil
}

func (l *scriptLink) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func TestDriverCloseIsIdempotentAndFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newScriptLink(nil)
		d := newHost(t, l, 1)
		if err := d.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := d.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		called := false
		err := d.Do(func(*stack.Stack, time.Time) error { called = true; return nil })
		if !errors.Is(err, net.ErrClosed) || called {
			t.Fatalf("Do after Close = %v (fn called %v), want net.ErrClosed without calling fn", err, called)
		}
		if !isClosed(d.Done()) {
			t.Fatal("Done not closed after Close")
		}
		if err := d.ReadErr(); err != nil {
			t.Fatalf("ReadErr after an orderly Close = %v, want nil", err)
		}
		// View still works, for Stats after Close.
		d.View(func(st *stack.Stack) { _ = st.Stats() })
	})
}

func TestDriverSendsGratuitousARP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newScriptLink(nil)
		newHost(t, l, 1)
		l.mu.Lock()
		defer l.mu.Unlock()
		// An Ethernet host announces itself at once (RFC 5227 §3).
		if len(l.written) == 0 {
			t.Fatal("no frame written at start")
		}
		if et := l.written[0][12:14]; et[0] != 0x08 || et[1] != 0x06 {
			t.Fatalf("first frame has EtherType %x, want ARP 0806", et)
		}
	})
}

func TestDriverCountsWriteErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newScriptLink(errors.New("link down"))
		d := newHost(t, l, 1)
		if got := d.LinkStats().WriteErrors; got == 0 {
			t.Fatal("gratuitous ARP write failed but WriteErrors = 0")
		}
	})
}

func TestDriverDropsOversizeFramesAndKeepsReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newScriptLink(nil)
		d := newHost(t, l, 1)
		l.reads <- readResult{frame: make([]byte, readBufferSize+1)}
		l.reads <- readResult{frame: make([]byte, 60)} // a runt frame, dropped by the core
		synctest.Wait()
		if got := d.LinkStats().OversizeFrames; got != 1 {
			t.Fatalf("OversizeFrames = %d, want 1", got)
		}
		var in uint64
		d.View(func(st *stack.Stack) { in = st.Stats().Link.FramesIn })
		if in != 1 {
			t.Fatalf("core saw %d frames, want 1 (the reader kept going)", in)
		}
	})
}

func TestDriverRecordsReadError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		la, lb := link.Pipe()
		d := newHost(t, la, 1)
		lb.Close() // the peer goes away: la reads io.EOF once drained
		synctest.Wait()
		if err := d.ReadErr(); !errors.Is(err, io.EOF) {
			t.Fatalf("ReadErr = %v, want io.EOF", err)
		}
		// The driver still works for local calls and closes cleanly.
		if err := d.Do(func(*stack.Stack, time.Time) error { return nil }); err != nil {
			t.Fatalf("Do after read error: %v", err)
		}
	})
}

func TestDriverDoReturnsFnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newHost(t, newScriptLink(nil), 1)
		want := errors.New("boom")
		if err := d.Do(func(*stack.Stack, time.Time) error { return want }); err != want {
			t.Fatalf("Do = %v, want fn's error", err)
		}
	})
}
