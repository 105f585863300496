package netconn

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestDeadline(t *testing.T) {
	tests := []struct {
		name      string
		set       []time.Duration // offsets from now applied in order; 0 = zero time
		wantFired bool
	}{
		{"zero means none", []time.Duration{0}, false},
		{"past fires now", []time.Duration{-time.Second}, true},
		{"now fires now", []time.Duration{-1}, true},
		{"future not yet", []time.Duration{time.Hour}, false},
		{"past then zero re-arms", []time.Duration{-time.Second, 0}, false},
		{"past then future re-arms", []time.Duration{-time.Second, time.Hour}, false},
		{"future then past fires", []time.Duration{time.Hour, -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := newDeadline()
				for _, off := range tt.set {
					var at time.Time
					if off != 0 {
						at = time.Now().Add(off)
					}
					d.set(at)
				}
				if got := d.expired(); got != tt.wantFired {
					t.Fatalf("expired = %v, want %v", got, tt.wantFired)
				}
				d.stop()
			})
		})
	}
}

func TestDeadlineFiresAtItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDeadline()
		start := time.Now()
		d.set(start.Add(1500 * time.Millisecond))
		<-d.wait()
		if got := time.Since(start); got != 1500*time.Millisecond {
			t.Fatalf("fired after %v, want 1.5s", got)
		}
	})
}

func TestDeadlineExtendedBeforeFiring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDeadline()
		start := time.Now()
		d.set(start.Add(time.Second))
		time.Sleep(500 * time.Millisecond) // virtual time: moves the bubble's clock
		d.set(start.Add(3 * time.Second))
		<-d.wait()
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("fired after %v, want 3s", got)
		}
	})
}

func TestDeadlineSetAfterFiring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDeadline()
		d.set(time.Now().Add(time.Second))
		<-d.wait()
		// The old timer fired; setting again must not wait forever and
		// must re-open the channel.
		d.set(time.Now().Add(time.Second))
		if d.expired() {
			t.Fatal("expired right after re-arming to the future")
		}
		d.stop()
		d.set(time.Time{})
		if d.expired() {
			t.Fatal("expired after clearing")
		}
	})
}
