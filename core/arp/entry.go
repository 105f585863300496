package arp

import (
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// state is where an entry is in its life, after Linux's neighbour states.
type state uint8

const (
	// incomplete: requests are being broadcast; packets wait in queue.
	incomplete state = iota
	// reachable: mac is known. Once ReachableTime has passed since
	// confirmed it is stale, which is decided lazily from the clock.
	reachable
	// probe: mac is used while unicast requests confirm it.
	probe
)

type entry struct {
	ip        netip.Addr
	mac       wire.MAC
	state     state
	confirmed time.Time // last answer from the neighbour
	lastUsed  time.Time // last Resolve that asked for it
	requests  int       // requests sent in the current resolution or probe
	nextRetry time.Time // when the next request or the give-up is due
	queue     [][]byte  // packets waiting for resolution, oldest first

	prev, next *entry // LRU list, front = most recently used
}

// deadline is when Poll must look at e.
func (e *entry) deadline(cfg *Config) time.Time {
	if e.state != reachable {
		return e.nextRetry
	}
	// A stale entry is removed once unused for GCStaleTime (Linux's
	// gc_stale_time); it becomes stale ReachableTime after confirmation.
	since := e.confirmed.Add(cfg.ReachableTime)
	if e.lastUsed.After(since) {
		since = e.lastUsed
	}
	return since.Add(cfg.GCStaleTime)
}

// lruList is an intrusive doubly linked list: O(1) touch and eviction,
// no allocation per entry beyond the entry itself.
type lruList struct {
	head, tail *entry
}

func (l *lruList) pushFront(e *entry) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	} else {
		l.tail = e
	}
	l.head = e
}

func (l *lruList) remove(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (l *lruList) moveToFront(e *entry) {
	if l.head == e {
		return
	}
	l.remove(e)
	l.pushFront(e)
}

func (l *lruList) back() *entry { return l.tail }
