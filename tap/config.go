package tap

import (
	"errors"
	"fmt"
)

// maxNameLen is IFNAMSIZ minus the terminating NUL the kernel requires.
const maxNameLen = 15

// maxMTU is the largest MTU the tun driver accepts (MAX_MTU in
// drivers/net/tun.c); the kernel checks the lower bound itself.
const maxMTU = 65535

var errBadConfig = errors.New("invalid config")

// validate rejects misuse before anything is created, so a bad Config never
// leaves a half-made interface behind.
func (c Config) validate() error {
	if c.Mode != TAP && c.Mode != TUN {
		return fmt.Errorf("tap: mode %v: want TAP or TUN: %w", c.Mode, errBadConfig)
	}
	if len(c.Name) > maxNameLen {
		return fmt.Errorf("tap: name %q is %d bytes, the kernel allows at most %d: %w", c.Name, len(c.Name), maxNameLen, errBadConfig)
	}
	for i := 0; i < len(c.Name); i++ {
		// dev_valid_name in net/core/dev.c refuses '/', ':' and whitespace.
		if b := c.Name[i]; b == '/' || b == ':' || b <= ' ' || b == 0x7f {
			return fmt.Errorf("tap: name %q contains %q, which interface names cannot: %w", c.Name, b, errBadConfig)
		}
	}
	if c.MTU < 0 || c.MTU > maxMTU {
		return fmt.Errorf("tap: MTU %d: want 0 (kernel default) or up to %d: %w", c.MTU, maxMTU, errBadConfig)
	}
	if c.HostAddr.Addr().IsValid() && !c.HostAddr.IsValid() {
		return fmt.Errorf("tap: host address %v: prefix length out of range: %w", c.HostAddr.Addr(), errBadConfig)
	}
	return nil
}
