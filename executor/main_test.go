package executor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// nrunBin is the nrun binary built once for the tests that run apply as a
// subprocess (crash and resume, Ctrl-C, lock contention) and that use
// `nrun sandbox` as an exec command.
var nrunBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nrun-executor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nrunBin = filepath.Join(dir, "nrun")
	out, err := exec.Command("go", "build", "-o", nrunBin, "../cmd/nrun").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build nrun: %v\n%s", err, out)
		os.Exit(1)
	}
	code := sandboxtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
