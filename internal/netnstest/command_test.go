package netnstest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv makes the test binary act as the program that Output runs, so
// the tests need no program that might be missing on some system.
const helperEnv = "NETNSTEST_HELPER"

// TestHelperProcess is not a test: run with helperEnv=code it writes "out"
// to stdout and "err" to stderr and exits with that code.
func TestHelperProcess(t *testing.T) {
	code := os.Getenv(helperEnv)
	if code == "" {
		t.Skip("helper process for TestOutput")
	}
	fmt.Fprint(os.Stdout, "out")
	fmt.Fprint(os.Stderr, "err")
	if code != "0" {
		os.Exit(3)
	}
	os.Exit(0)
}

func helperCommand(code string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+code)
	return cmd
}

func TestOutput(t *testing.T) {
	if got := Output(t, helperCommand("0")); !bytes.Equal(got, []byte("out")) {
		t.Errorf("Output = %q, want %q", got, "out")
	}
}

func TestOutputFailure(t *testing.T) {
	tests := []struct {
		desc    string
		cmd     *exec.Cmd
		wantErr any      // a target for errors.As
		want    []string // in the message
	}{
		{"exit status and stderr", helperCommand("3"), new(*exec.ExitError),
			[]string{os.Args[0], "-test.run=^TestHelperProcess$", "exit status 3", ": err"}},
		{"cannot start", exec.Command("netnstest-no-such-program"), new(*exec.Error),
			[]string{"netnstest-no-such-program: exec: "}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := output(tt.cmd)
			if err == nil {
				t.Fatal("output succeeded, want an error")
			}
			if !errors.As(err, tt.wantErr) {
				t.Errorf("error %v does not wrap a %T", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRequireCommand(t *testing.T) {
	var sub *testing.T
	t.Run("missing", func(t *testing.T) {
		sub = t
		RequireCommand(t, "netnstest-no-such-program")
		t.Error("RequireCommand did not skip")
	})
	if !sub.Skipped() {
		t.Error("a test requiring a missing program was not skipped")
	}
	// The test binary itself is a program that is surely there.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if got := RequireCommand(t, self); got != self {
		t.Errorf("RequireCommand(%q) = %q", self, got)
	}
}

func TestPackageOf(t *testing.T) {
	for bin, want := range map[string]string{"ip": "iproute2", "nft": "nftables", "ping": "iputils-ping", "curl": "curl"} {
		if got := packageOf(bin); got != want {
			t.Errorf("packageOf(%q) = %q, want %q", bin, got, want)
		}
	}
}
