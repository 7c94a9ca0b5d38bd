package executor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestExecEnvironPutsSelfFirst(t *testing.T) {
	tests := map[string]struct {
		in   []string
		dir  string
		want []string
	}{
		"no self":     {[]string{"PATH=/usr/bin", "A=1"}, "", []string{"PATH=/usr/bin", "A=1"}},
		"self first":  {[]string{"A=1", "PATH=/usr/bin:/bin"}, "/tmp/x", []string{"A=1", "PATH=/tmp/x:/usr/bin:/bin"}},
		"no PATH yet": {[]string{"A=1"}, "/tmp/x", []string{"A=1", "PATH=/tmp/x"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := execEnviron(tc.in, tc.dir); !slices.Equal(got, tc.want) {
				t.Errorf("execEnviron = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLookPathInUsesChildPath(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "nrun")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte(""), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := lookPathIn("nrun", "/nonexistent:"+dir)
	if err != nil || got != bin {
		t.Fatalf("lookPathIn(nrun) = %q, %v; want %q", got, err, bin)
	}
	if _, err := lookPathIn("plain", dir); err == nil {
		t.Error("a file without the executable bit was found")
	}
	if _, err := lookPathIn("nrun", "/nonexistent"); err == nil {
		t.Error("found nrun on a PATH that does not hold it")
	}
	if got, _ := lookPathIn("./x/y", ""); got != "./x/y" {
		t.Errorf("a path with a slash must be used as is, got %q", got)
	}
}
