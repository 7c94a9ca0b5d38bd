package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/executor"
)

// TestForceUnlockConfirm: on a terminal force-unlock shows the lock, warns
// when its holder still runs (holds the flock), and removes it only for
// 'yes'. The script force_unlock.txtar covers the paths without a terminal.
func TestForceUnlockConfirm(t *testing.T) {
	tests := map[string]struct {
		answer  string
		removed bool
	}{
		"yes":         {answer: "yes\n", removed: true},
		"no":          {answer: "no\n"},
		"y":           {answer: "y\n"},
		"end of file": {answer: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), ".nrun")
			l, err := executor.AcquireLock(context.Background(), state, "apply", executor.LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release()
			var stdout, stderr bytes.Buffer
			s := &streams{Stdin: strings.NewReader(tc.answer), Stdout: &stdout, Stderr: &stderr, StdinTTY: true,
				Getenv: func(string) string { return "" }}
			code := run([]string{"force-unlock", "-state-dir", state, l.Info.ID}, s)
			for _, want := range []string{"Only 'yes' will be accepted", l.Info.ID, "STILL RUNNING"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("the question lacks %q:\n%s", want, &stderr)
				}
			}
			_, rerr := executor.ReadLock(state)
			history, _ := executor.ReadLockHistory(state)
			if tc.removed {
				if code != 0 || !errors.Is(rerr, os.ErrNotExist) || len(history) != 1 || history[0].Lock.ID != l.Info.ID {
					t.Fatalf("exit %d, lock %v, history %+v\n%s%s", code, rerr, history, &stdout, &stderr)
				}
				return
			}
			if code != 1 || rerr != nil || len(history) != 0 || !strings.Contains(stderr.String(), "cancelled; the lock is kept") {
				t.Fatalf("exit %d, lock %v, history %+v\n%s", code, rerr, history, &stderr)
			}
		})
	}
}
