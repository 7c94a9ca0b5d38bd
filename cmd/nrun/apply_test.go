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
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var types []string
	for _, line := range lines {
		var m struct {
			Type  string `json:"type"`
			Level string `json:"@level"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.Type == "" || m.Level == "" {
			t.Errorf("stdout line is not a stream message: %q", line)
		}
		types = append(types, m.Type)
	}
	// The stream opens with its version and closes with the summary.
	if len(types) < 2 || types[0] != "version" || types[len(types)-1] != "apply_summary" {
		t.Errorf("message types %v: want version first and apply_summary last", types)
	}
	if !strings.Contains(stderr.String(), "Do you want to apply this plan?") {
		t.Errorf("the prompt is not on stderr:\n%s", &stderr)
	}
}
