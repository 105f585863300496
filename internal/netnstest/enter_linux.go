//go:build linux

package netnstest

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// result is what one run in a namespace gave: fn's own error, and the
// failure to enter or leave the namespace.
type result struct {
	fn, setns error
}

// join is the single error Run and Go report.
func (r result) join() error {
	switch {
	case r.setns == nil:
		return r.fn
	case r.fn == nil:
		return r.setns
	}
	return errors.Join(r.fn, r.setns)
}

// InNetns runs fn on an OS thread switched into namespace ns and returns
// fn's error. It fails t if the thread cannot enter ns or come back, so it
// must be called from the test's own goroutine; other goroutines use Run.
func InNetns(t testing.TB, ns string, fn func() error) error {
	t.Helper()
	r := <-start(ns, fn)
	if r.setns != nil {
		t.Fatal(r.setns)
	}
	return r.fn
}

// Run runs fn on an OS thread switched into namespace ns, so that the
// interfaces and sockets fn creates belong to ns (a socket keeps its
// namespace for life, whichever thread uses it later). It returns fn's
// error joined with any failure to enter or leave ns; fn does not run if
// ns cannot be entered. It never touches a testing.T, so any goroutine
// may call it.
func Run(ns string, fn func() error) error {
	return (<-start(ns, fn)).join()
}

// Go starts fn as Run does, without waiting: the returned channel
// delivers what Run would return, once.
func Go(ns string, fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- (<-start(ns, fn)).join() }()
	return done
}

// start runs fn on a fresh goroutine locked to its OS thread. Namespaces
// belong to threads, not goroutines: the lock keeps other goroutines off
// the thread while it is in ns. If the thread cannot be switched back it
// stays locked, and the runtime then destroys it rather than reuse a
// thread in the wrong namespace.
func start(ns string, fn func() error) <-chan result {
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		r, restored := enterAndRun(ns, fn)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- r
	}()
	return done
}

// enterAndRun switches the calling thread into ns, runs fn and switches it
// back. restored reports whether the thread is back in its namespace.
func enterAndRun(ns string, fn func() error) (r result, restored bool) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		r.setns = fmt.Errorf("netns %s: %w", ns, err)
		return r, true
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		r.setns = fmt.Errorf("netns %s: %w", ns, err)
		return r, true
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		r.setns = fmt.Errorf("setns into %s: %w", ns, os.NewSyscallError("setns", err))
		return r, true
	}
	r.fn = fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		r.setns = fmt.Errorf("setns back from %s: %w", ns, os.NewSyscallError("setns", err))
		return r, false
	}
	return r, true
}
