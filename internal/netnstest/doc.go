// Package netnstest holds the test helpers that keep tests talking to the
// Linux kernel inside a network namespace of their own: skip unless the
// test can create namespaces and TUN/TAP devices, create a namespace that
// is always deleted when the test ends, run a function on an OS thread
// switched into it (to open devices or sockets there), and run commands in
// it under `ip netns exec`.
//
// The namespace helpers exist on Linux only; the command helpers
// (RequireCommand, Output) work everywhere.
//
// The package must not import tap, nor anything that imports tap: tap's
// own tests use it. Callers open devices with their own Open inside
// InNetns or Run.
package netnstest
