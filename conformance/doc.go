// Package conformance holds end-to-end tests of microtcp: two stacks over
// link.Pipe (optionally impaired with link.NewFaulty or recorded with
// link.NewCapture) exercised only through the public API. It has no code
// for users; everything is in _test.go files.
package conformance
