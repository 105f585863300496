package microtcp

import "github.com/microtcp/microtcp/core/stack"

// Stats are the stack's counters, grouped per protocol like `netstat -s`.
// Each field is documented in package core/stack.
type Stats = stack.Stats

// Stats returns a snapshot of the counters. It works after Close too.
func (s *Stack) Stats() Stats {
	var st Stats
	s.d.View(func(c *stack.Stack) { st = c.Stats() })
	return st
}
