// Package tcp is microtcp's TCP engine: the RFC 9293 state machine with
// options (RFC 7323, RFC 2018), retransmission (RFC 6298), loss recovery
// (RFC 6582, RFC 6675) and congestion control (package cc).
//
// It is sans-I/O: every call takes the current time as an argument, segments
// leave through an Output passed in, and NextDeadline reports when Poll must
// next be called. It never reads the clock, blocks or starts goroutines, and
// it is not safe for concurrent use: the caller serialises every call.
package tcp
