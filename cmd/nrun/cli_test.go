package main

import (
	"bytes"
	"strings"
)

// testStreams returns streams over buffers, as if nrun ran with its output
// redirected to files: no terminal, so no colour.
func testStreams(stdin string) (s *streams, stdout, stderr *bytes.Buffer) {
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	s = &streams{
		Stdin:  strings.NewReader(stdin),
		Stdout: stdout,
		Stderr: stderr,
		Getenv: func(string) string { return "" },
	}
	return s, stdout, stderr
}
