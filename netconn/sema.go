package netconn

// sema serialises the readers (or the writers) of one socket. It is a
// 1-slot channel rather than a sync.Mutex for two reasons: a caller waiting
// for its turn can give up when the socket closes or its deadline passes,
// and testing/synctest counts a goroutine blocked on a channel as durably
// blocked (one blocked on a sync.Mutex is not, which would stall virtual
// time whenever two goroutines read the same socket).
type sema chan struct{}

func newSema() sema { return make(sema, 1) }

// acquire waits for the turn, or returns false when one of stop fires
// first.
func (s sema) acquire(stop1, stop2, stop3 <-chan struct{}) bool {
	select {
	case s <- struct{}{}:
		return true
	default:
	}
	select {
	case s <- struct{}{}:
		return true
	case <-stop1:
	case <-stop2:
	case <-stop3:
	}
	return false
}

func (s sema) release() { <-s }
