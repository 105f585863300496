// Package wire holds zero-copy views and field structs for the protocols
// microtcp speaks: Ethernet II, ARP, IPv4, ICMPv4, UDP and TCP.
//
// A view is a byte slice type (for example IPv4) whose methods read and write
// header fields in place. Views come from checked constructors (ParseIPv4 and
// friends): once a constructor has returned a view without error, no accessor
// on it can panic. Field structs (IPv4Fields …) describe a header to build;
// their Encode methods write into a caller-provided buffer and never allocate.
// Each view's Fields method gives back the field struct that encodes it.
//
// For debugging, views print tcpdump-style lines through String, and
// Describe decodes a whole frame into one line. These allocate and never
// panic, even on garbage.
//
// The package keeps no state and depends on the standard library only.
package wire
