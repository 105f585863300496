package tap

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// frameReader reads whole frames and notices truncation. The driver cuts a
// frame to the buffer without saying so (tun_put_user copies what fits and
// returns that length), so each read(2) becomes a readv(2) into the
// caller's buffer plus one spare byte: a frame that reaches the spare byte
// did not fit. The readv runs through the file's RawConn, so a Read waits
// in the runtime poller like os.File.Read and Close still wakes it.
type frameReader struct {
	name   string
	rc     syscall.RawConn
	closed atomic.Bool

	mu    sync.Mutex // guards the fields below, one Read at a time
	iov   [2][]byte
	spare [1]byte
	n     int
	err   error
	fn    func(fd uintptr) bool // readv bound once, so Read does not allocate
}

func (r *frameReader) init(name string, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	r.name, r.rc = name, rc
	r.fn = r.readv
	return nil
}

// readv is called by the poller each time the descriptor may be readable;
// returning false means "not yet, wait for the next readiness".
func (r *frameReader) readv(fd uintptr) bool {
	for {
		n, err := unix.Readv(int(fd), r.iov[:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return false
		}
		r.n, r.err = n, err
		return true
	}
}

func (r *frameReader) read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.iov[0], r.iov[1] = p, r.spare[:]
	err := r.rc.Read(r.fn)
	r.iov[0] = nil // the caller's buffer is only borrowed
	if err != nil {
		// The poller reports a closed file with an internal error value;
		// give callers the one os.File.Read would.
		if r.closed.Load() {
			err = os.ErrClosed
		}
		return 0, &os.PathError{Op: "read", Path: r.name, Err: err}
	}
	if r.err != nil {
		return 0, &os.PathError{Op: "read", Path: r.name, Err: r.err}
	}
	if r.n > len(p) {
		return len(p), io.ErrShortBuffer
	}
	return r.n, nil
}
