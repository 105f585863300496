// Package link provides frame-preserving links for microtcp stacks and
// wrappers around any such link.
//
// A link is an io.ReadWriteCloser that keeps frame boundaries: each Write
// sends one whole frame, each Read returns one whole frame, and Close
// unblocks a pending Read. Pipe connects two stacks in memory, NewFaulty
// impairs the frames written through a link (loss, duplication, reordering,
// corruption, delay, rate) from a seed, and NewCapture records every frame
// as a classic libpcap stream. A Pipe reader that finds no frame polls for
// a few µs before it parks (spin.go), so that a frame that follows soon is
// handed over without waking a thread.
//
// The package knows nothing about protocols above layer 2: it never parses
// the frames it carries.
package link
