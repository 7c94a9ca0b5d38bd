package executor

import (
	"fmt"
	"os"
	"testing"

	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// nrunBin is the nrun binary built once for the tests that run apply as a
// subprocess (crash and resume, Ctrl-C, lock contention) and that use
// `nrun sandbox` as an exec command.
var nrunBin string

func TestMain(m *testing.M) {
	// A re-exec of this binary as a lock holder (lock_test.go) holds a
	// lock, and must not build nrun or run tests.
	if mode := os.Getenv(lockHelperEnv); mode != "" {
		os.Exit(lockHelper(mode))
	}
	dir, err := os.MkdirTemp("", "nrun-executor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if nrunBin, err = sandboxtest.BuildNrun(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := sandboxtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
