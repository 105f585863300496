// Package netconn turns the pure state machine in core/stack into blocking
// net.Conn, net.PacketConn and net.Listener values.
//
// All concurrency of microtcp lives here (DESIGN.md §3): a Driver owns one
// stack and one link, serialises every call into the core under one mutex,
// runs one reader goroutine per link and one protocol timer reset to the
// core's NextDeadline. Sockets never start goroutines: the core calls their
// wakers (non-blocking sends on 1-slot channels) and blocked calls wait in a
// select on readiness, their deadline and close. Before it parks, a blocked
// call polls those channels for a few µs (spin.go): a hand-off to a parked
// goroutine costs a thread wake-up. Every wait is a channel select or a poll
// bounded by iterations, so the whole stack runs inside testing/synctest on
// virtual time.
package netconn
