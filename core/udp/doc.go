// Package udp is the UDP socket table (RFC 768): binding by local address
// and port with ephemeral port choice, demultiplexing of inbound datagrams,
// and each socket's bounded receive queue.
//
// Like all of core/, it never reads the clock, blocks or starts goroutines;
// it is not safe for concurrent use.
package udp
