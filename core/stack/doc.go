// Package stack is one virtual IPv4 host: it parses each inbound frame once,
// demultiplexes it to ARP, ICMP, UDP (and TCP), runs their timers, and queues
// the frames it wants sent.
//
// A Stack is a pure state machine. It never blocks, sleeps, reads the clock
// or starts a goroutine: callers pass now to every call and ask NextDeadline
// when to call Poll. It is not safe for concurrent use; the driver in
// package netconn serialises every call under one mutex.
package stack
