package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyJSONPromptOnStderr: with -json stdout is one JSON event per
// line, so the confirmation prompt (asked when stdin is a terminal) must
// go to stderr.
func TestApplyJSONPromptOnStderr(t *testing.T) {
	dir := t.TempDir()
	rb := filepath.Join(dir, "main.nrun.hcl")
	src := `
step "a" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`
	if err := os.WriteFile(rb, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	s := &streams{Stdin: strings.NewReader("yes\n"), Stdout: &stdout, Stderr: &stderr, StdinTTY: true,
		Getenv: func(string) string { return "" }}
	code := run([]string{"apply", "-json", "-state-dir", filepath.Join(dir, ".nrun"), rb}, s)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("stdout line is not JSON: %q", line)
		}
	}
	if !strings.Contains(stderr.String(), "Do you want to apply this plan?") {
		t.Errorf("the prompt is not on stderr:\n%s", &stderr)
	}
}
