// Package ipv4 holds the IPv4 logic that is not demultiplexing: routing,
// fragmentation, reassembly (RFC 791, RFC 815), and ICMPv4 messages with
// their sending rules and rate limit (RFC 792, RFC 1122 §3.2.2).
//
// Like all of core/, it never reads the clock: every call takes now.
package ipv4
