//go:build !race

package conformance

// raceEnabled scales the largest transfers down: the race detector slows
// every byte the stack touches.
const raceEnabled = false
