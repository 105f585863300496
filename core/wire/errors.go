package wire

import "errors"

// Parse errors. Each parser wraps one of these so that callers can count
// drops by reason with errors.Is.
var (
	// ErrTruncated: the buffer is shorter than the header or a length field says.
	ErrTruncated = errors.New("truncated")
	// ErrBadLength: a length field is inconsistent (IHL < 5, data offset < 5, UDP length < 8 …).
	ErrBadLength = errors.New("bad length field")
	// ErrBadVersion: an IPv4 packet whose version field is not 4.
	ErrBadVersion = errors.New("bad IP version")
	// ErrUnsupported: a well-formed header for something we do not speak (ARP for a non-IPv4 protocol …).
	ErrUnsupported = errors.New("unsupported")
	// ErrBadOption: a TCP or IP option whose length is malformed.
	ErrBadOption = errors.New("malformed option")
	// ErrBadChecksum: a checksum that does not verify.
	ErrBadChecksum = errors.New("bad checksum")
)
