package netnstest

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// RequireCommand skips t unless the program name is on PATH, and returns
// its path.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("skipping: %s is not installed (%v); apt-get install %s", name, err, packageOf(name))
	}
	return path
}

// packageOf names the Debian package that ships a program, for skip
// messages.
func packageOf(name string) string {
	switch name {
	case "ip":
		return "iproute2"
	case "nft":
		return "nftables"
	case "ping":
		return "iputils-ping"
	}
	return name
}

// Output runs cmd and returns its standard output. If cmd cannot start or
// exits unsuccessfully, it fails t with the command line, the error and
// what the command wrote to standard error.
func Output(t testing.TB, cmd *exec.Cmd) []byte {
	t.Helper()
	out, err := output(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// output is Output without t, so that its failure message can be tested.
func output(cmd *exec.Cmd) ([]byte, error) {
	out, err := cmd.Output()
	if err != nil {
		line := strings.Join(cmd.Args, " ")
		// cmd.Output keeps standard error in the ExitError only when
		// the caller did not redirect it.
		if ee, ok := errors.AsType[*exec.ExitError](err); ok && len(ee.Stderr) > 0 {
			return out, fmt.Errorf("%s: %w: %s", line, err, ee.Stderr)
		}
		return out, fmt.Errorf("%s: %w", line, err)
	}
	return out, nil
}
