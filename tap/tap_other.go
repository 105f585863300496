//go:build !linux

package tap

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
)

// Open fails on this platform: TUN/TAP devices are supported on Linux only.
func Open(cfg Config) (*Device, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("tap: %s devices are supported on Linux only, not %s: %w", cfg.Mode, runtime.GOOS, errors.ErrUnsupported)
}

// frameReader exists so that Device compiles; no Device is ever opened here.
type frameReader struct{ closed atomic.Bool }

func (r *frameReader) read(p []byte) (int, error) { return 0, errors.ErrUnsupported }
